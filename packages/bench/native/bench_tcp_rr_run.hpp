// What both tcp-rr clients (epoll, io_uring) share: the requests' byte pattern and the check of each
// response against it, the run's phases (first response, warm-up, window, drain), latencies, and
// the client's and server's CPU over the window.
#pragma once
#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "bench_cpu.hpp"
#include "bench_tcp_rr.hpp"
#include "bench_uring.hpp"

namespace bench {

// MonotonicNs (bench_cpu.hpp) as the unsigned type the latency arithmetic uses.
uint64_t NowNs();

// One connection with at most one request outstanding.
struct RrConn {
  int fd = -1;
  unsigned got = 0;      // bytes of the current response so far
  unsigned seq = 0;      // requests sent on this connection
  bool waiting = false;  // a request is outstanding
  uint64_t sentAt = 0;
};

// The server's IPv4 address and port from the config.
sockaddr_in ServerAddress(const TcpRrConfig& cfg);

// An io_uring client's ring with `entries` SQEs (rounded up to a power of two, at most 32768);
// false, with the failure recorded, when setup fails.
bool InitClientRing(io_uring* ring, unsigned entries, Failure& failure);

// A connected blocking TCP socket (TCP_NODELAY). On loopback the source address is drawn from
// 127.0.0.2–201 by `serial`, so churn's TIME_WAIT sockets never use up the ports. Returns the fd or -1.
int ConnectTcp(const sockaddr_in& to, uint64_t serial, Failure& failure);

class RrRun {
 public:
  RrRun(const TcpRrConfig& cfg, uint64_t start);

  // Request k of a connection is `size` bytes of the pattern from offset k % 256, so a response
  // that is short, long, reordered or from another request fails the check.
  const char* Request(RrConn& c, uint64_t sentAt);
  // `len` bytes of c's response arrived at `now`; true once the response is complete. A byte that
  // differs from the request, or one more than asked, fails the run (EPROTO).
  bool Received(RrConn& c, const char* data, size_t len, uint64_t now, Failure& failure);
  // Once per wake-up, before its completions: moves through the phases. False when the run is over
  // (the window ended and every outstanding response arrived, or the drain gave up).
  bool Tick(uint64_t now, Failure& failure);
  // False once the window ended: no new requests, the outstanding ones drain.
  bool Sending() const { return windowEnd_ == 0; }
  TcpRrResult Finish(TcpRrResult out);

 private:
  const TcpRrConfig& cfg_;
  std::vector<char> pattern_;
  uint64_t start_;
  uint64_t firstAt_ = 0;
  uint64_t windowStart_ = 0, windowEnd_ = 0;
  bool inWindow_ = false;
  uint64_t requests_ = 0, responses_ = 0, bytes_ = 0, transactions_ = 0;
  SchedTimes server_;
  bool serverSeen_ = false;
  int64_t clientCpu_ = 0;
  std::vector<uint32_t> latencies_;
};

// One request on c, whole, with a blocking send (`size` bytes fit the empty send buffer of an idle
// flow).
bool SendRequest(RrRun& run, RrConn& c, uint64_t sentAt, size_t size, Failure& failure);

// One wake-up of an io_uring client: submits what is queued and waits up to 100 ms for a completion
// (spinning: does not wait), then moves the run through its phases at *now. False when the run is
// over or failed.
bool EnterAndTick(io_uring* ring, bool spin, RrRun& run, uint64_t* now, Failure& failure);

}  // namespace bench
