// IOPS: random O_DIRECT reads through io_uring, with the knobs of fio's t/io_uring (depth,
// submit/complete batch, fixed buffers, registered files, IOPOLL).
#pragma once
#include <cstdint>
#include <string>

#include "bench_common.hpp"
#include "bench_measure.hpp"

namespace bench {

struct IopsConfig {
  std::string path;
  int blockSize = 4096;
  int depth = 128;
  int batchSubmit = 32;
  int batchComplete = 32;
  bool fixedBuffers = false;
  bool fixedFiles = false;
  bool polled = false;
  int cpu = -1;
  Timing timing;
};

struct IopsResult {
  Window window;
  uint64_t bytes = 0;  // size of the file or device read from
  unsigned ringFlags = 0;
};

void RunIops(const IopsConfig& cfg, IopsResult& out, Failure& failure);

}  // namespace bench
