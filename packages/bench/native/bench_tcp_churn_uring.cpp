// The io_uring churn client: each connection is opened with a blocking connect (on loopback the
// handshake completes inside it, so a ring connect would only add a poll round) and a blocking send
// of its request (deferred to the next enter, the requests of a wake-up would reach the server in
// bursts that leave both sides idle in between); the receive of its response and its close go
// through the ring. No epoll registration per connection (epoll_ctl, and the epoll teardown in
// close), and one io_uring_enter per wake-up for every connection's receive and close.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "bench_tcp_rr.hpp"
#include "bench_tcp_rr_run.hpp"
#include "bench_uring.hpp"

namespace bench {

namespace {

// user_data: kind | connection index. A close posts a CQE only when it fails.
constexpr uint64_t kRecv = 0;
constexpr uint64_t kClose = 1ULL << 32;
constexpr uint64_t kKind = 3ULL << 32;

}  // namespace

bool ChurnUringSupported() {
  io_uring ring;
  io_uring_params p{};
  if (io_uring_queue_init_params(2, &ring, &p) < 0) return false;
  io_uring_queue_exit(&ring);
  return (p.features & IORING_FEAT_CQE_SKIP) != 0;
}

TcpRrResult RunTcpChurnUringClient(const TcpRrConfig& cfg, Failure& failure) {
  TcpRrResult out;
  out.client = "io_uring churn";
  const unsigned n = static_cast<unsigned>(cfg.connections);
  const size_t size = static_cast<size_t>(cfg.size);
  io_uring ring;
  // per connection at most a receive and the previous connection's close in the SQ
  if (!InitClientRing(&ring, 2 * n + 8, failure)) return out;
  // Room for one byte more than a response: a longer answer in the same segment fails the check.
  const size_t bufSize = size + 64;
  auto bufs = std::make_unique<char[]>(bufSize * n);
  std::vector<RrConn> conns(n);
  const sockaddr_in sa = ServerAddress(cfg);
  RrRun run(cfg, NowNs());
  unsigned receiving = 0;  // receives in flight: each posts exactly one CQE
  uint64_t opened = 0;
  auto armRecv = [&](uint32_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_recv(sqe, conns[i].fd, bufs.get() + i * bufSize, bufSize, 0);
    io_uring_sqe_set_data64(sqe, kRecv | i);
    receiving++;
  };
  // The latency counts from before connect().
  auto open = [&](uint32_t i) {
    uint64_t t = NowNs();
    RrConn& c = conns[i];
    c.fd = ConnectTcp(sa, opened++, failure);
    if (c.fd < 0) return;
    if (!SendRequest(run, c, t, size, failure)) return;
    armRecv(i);
  };
  for (uint32_t i = 0; i < n && !failure.Failed(); i++) open(i);
  while (!failure.Failed()) {
    uint64_t now = 0;
    if (!EnterAndTick(&ring, false, run, &now, failure)) break;
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      const uint64_t kind = cqe->user_data & kKind;
      const auto i = static_cast<uint32_t>(cqe->user_data);
      if (kind == kRecv) receiving--;
      if (failure.Failed()) continue;
      if (kind == kClose) {
        failure.Record(-cqe->res, "close");
        continue;
      }
      RrConn& c = conns[i];
      if (cqe->res == 0) failure.Record(ECONNRESET, "recv", "the server closed a connection");
      if (cqe->res < 0) failure.Record(-cqe->res, "recv");
      if (cqe->res <= 0) continue;
      if (!run.Received(c, bufs.get() + i * bufSize, static_cast<size_t>(cqe->res), now, failure)) {
        if (!failure.Failed()) armRecv(i);  // the rest of the response
        continue;
      }
      io_uring_sqe* sqe = NextSqe(&ring);
      io_uring_prep_close(sqe, c.fd);
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, kClose | i);
      c.fd = -1;
      if (run.Sending()) open(i);
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_submit(&ring);  // closes still queued
  unsigned left = Quiesce(&ring, receiving, [](io_uring_cqe* c) { return (c->user_data & kKind) == kRecv && c->user_data != kQuiesceCancel; });
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  io_uring_queue_exit(&ring);
  out = run.Finish(out);
  if (left > 0) {
    // Receives that never completed may still write the buffers: keep them.
    (void)bufs.release();
  }
  return out;
}

}  // namespace bench
