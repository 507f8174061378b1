// tcp-rr, modelled on neper tcp_rr: N connections, each with one request of `size` bytes
// outstanding; the server echoes `size` bytes back. One client thread pinned to `cpu` counts
// transactions, measures each one's latency and checks every response byte. The io_uring client
// (the default) sends a wake-up's requests and re-arms its receives in one io_uring_enter, so it
// costs less per transaction than the servers it measures; the epoll client does a recv and a
// send per transaction. Churn has its own io_uring client (bench_tcp_churn_uring.cpp); the epoll
// client churns too.
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
  bool epoll = false;  // the epoll client
  bool spin = false;   // the io_uring client polls its ring instead of sleeping in it
  bool multishot = true;  // false: the io_uring client uses plain recv as where the kernel lacks multishot
  // A process whose CPU time (all threads) the client reads at the window's edges; 0: none.
  int serverPid = 0;
  // The client thread's nice value during the run (0: unchanged).
  int nice = 0;
  // The warm-up starts at the first response; none within this many seconds fails the run (ETIMEDOUT).
  // A window also lasts until its first transaction, for at most this long.
  double firstTimeout = 10;
  // After the window: no new requests, and this long for the outstanding responses.
  double drain = 2;
};

struct TcpRrResult {
  uint64_t transactions = 0;  // completed in the window
  double seconds = 0;
  double p50Us = 0, p99Us = 0, p999Us = 0, maxUs = 0;
  // Whole run, warm-up and drain included: requests sent, responses completed, response bytes.
  // After a full drain requests == responses and bytes == responses * size.
  uint64_t requests = 0, responses = 0, bytes = 0;
  // Over the window, -1 without serverPid: the server's CPU time, and its time runnable but
  // waiting for a CPU that other processes had (a server neither busy nor waiting waited for us).
  int64_t serverCpuNs = -1;
  int64_t serverWaitNs = -1;
  int64_t clientCpuNs = 0;
  uint64_t passes = 0;  // io_uring: wake-ups (or spins) that reaped completions, whole run
  std::string client;  // "io_uring multishot", "io_uring recv", "io_uring churn" or "epoll"
};

TcpRrResult RunTcpRrClient(const TcpRrConfig& cfg, Failure& failure);
TcpRrResult RunTcpRrUringClient(const TcpRrConfig& cfg, Failure& failure);
// Churn on io_uring: a blocking connect and send, then the response's receive and the close through
// the ring. Needs IORING_FEAT_CQE_SKIP (5.17): ChurnUringSupported().
TcpRrResult RunTcpChurnUringClient(const TcpRrConfig& cfg, Failure& failure);
bool ChurnUringSupported();

// The ceiling of the tcp-rr table: an echo server in C++ on io_uring (multishot accept, multishot
// recv from a provided buffer ring, each reply sent from the buffer it arrived in). Serves
// `listenFd` until *cancel becomes nonzero. One send in flight per connection (MSG_WAITALL: the
// kernel finishes partial sends), what arrives meanwhile queued in order; TCP_NODELAY.
void RunTcpEchoUringServer(int listenFd, const volatile int32_t* cancel, Failure& failure);

}  // namespace bench
