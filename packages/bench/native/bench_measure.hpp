// The measured window of a bench run: wait for the first count, warm up, then snapshot counters, CPU time and the kernel's
// UDP counters together, sample once a second, snapshot again.
#pragma once
#include <pthread.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "bench_common.hpp"
#include "bench_snmp.hpp"

namespace bench {

struct Plan {
  std::function<uint64_t()> count;       // the headline count (packets, transactions, I/Os)
  std::function<uint64_t()> secondary;   // optional: e.g. datagrams sent, server requests
  std::vector<pthread_t> receiverThreads;  // their CPU time is the receiver's cost
  bool ioUringWorkers = true;            // add io_uring's io-wq/SQPOLL threads of this process
  int snmpFd = -1;                       // /proc/net/snmp of the receiving namespace, or -1
  Timing timing;
  // Optional: called with true when the measured window opens (after the warm-up), false when it closes.
  std::function<void(bool)> window;
};

struct Window {
  uint64_t count = 0;
  uint64_t secondary = 0;
  double seconds = 0;
  int64_t cpuNs = 0;
  std::vector<double> samples;  // per-second rates of `count`
  UdpCounters before, after;
};

// Returns early (with what it has) when `failure` is set by a bench thread, and records a failure
// itself when nothing is counted within plan.timing.firstTimeout.
Window Measure(const Plan& plan, Failure& failure);

}  // namespace bench
