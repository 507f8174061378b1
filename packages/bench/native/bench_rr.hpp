// udp-rr, modelled on neper udp_rr: every flow keeps one request in flight; the client counts
// transactions, the server answers each request on the socket it came in on.
#pragma once
#include <atomic>
#include <vector>

#include "bench_common.hpp"
#include "bench_latency.hpp"

namespace bench {

struct RrConfig {
  std::vector<int> fds;  // connected sockets (both ends of udp-rr are connected)
  int size = 64;
  int maxEvents = 1000;
  uint64_t injectLoops = 0;
};

// Client: sends the first request on every flow, then one new request per response. While
// `recording` is set, each transaction's round trip (send to response) goes into `rtt`.
void RunRrClient(const RrConfig& cfg, Counter& transactions, Failure& failure, const Stop& stop, LatencyHistogram& rtt,
                 const std::atomic<bool>& recording);

// Server in epoll_wait(maxevents): one recv + one send per ready socket.
void RunRrEpollServer(const RrConfig& cfg, Counter& requests, Failure& failure, const Stop& stop);

// The same server on io_uring: multishot recv into a provided buffer ring, the reply is sent from
// that buffer and the buffer recycled when the send completes.
void RunRrUringServer(const RrConfig& cfg, Counter& requests, Failure& failure, const Stop& stop);

}  // namespace bench
