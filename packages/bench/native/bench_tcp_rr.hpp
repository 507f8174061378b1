// tcp-rr, modelled on neper tcp_rr: N connections, each with one request of `size` bytes
// outstanding; the server echoes `size` bytes back. One client thread pinned to `cpu` counts
// transactions and measures each one's latency.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace bench {

struct TcpRrConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 1;
  int size = 64;
  double warmup = 0.5;
  double seconds = 2;
  int cpu = -1;
  // Connection churn: every transaction on a new connection (connect, one request, close); the
  // latency then counts from connect().
  bool churn = false;
};

struct TcpRrResult {
  uint64_t transactions = 0;
  double seconds = 0;
  double p50Us = 0, p99Us = 0, p999Us = 0, maxUs = 0;
};

TcpRrResult RunTcpRrClient(const TcpRrConfig& cfg, Failure& failure);

// The ceiling of the tcp-rr table: an echo server in C++ on io_uring (multishot accept, multishot
// recv from a provided buffer ring, each reply sent from the buffer it arrived in). Serves
// `listenFd` until *cancel becomes nonzero. One send in flight per connection (MSG_WAITALL: the
// kernel finishes partial sends), what arrives meanwhile queued in order; TCP_NODELAY.
void RunTcpEchoUringServer(int listenFd, const volatile int32_t* cancel, Failure& failure);

}  // namespace bench
