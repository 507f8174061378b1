// UDP sender thread: sendmmsg over connected sockets (one per flow, distinct source ports).
#pragma once
#include <cstdint>
#include <vector>

#include "bench_common.hpp"

namespace bench {

struct SenderConfig {
  std::vector<int> fds;  // connected sockets this thread sends on, in turn
  int size = 64;         // payload bytes
  int batch = 32;        // datagrams per sendmmsg
  double rate = 0;       // datagrams per second for this thread, 0 = as fast as possible
};

// Runs until stop; publishes the datagrams the kernel accepted into `sent`.
void RunSender(const SenderConfig& cfg, Counter& sent, Failure& failure, const Stop& stop);

}  // namespace bench
