// The io_uring churn client: each connection is connected with a blocking connect (on loopback the
// handshake completes inside it, so a ring connect would only add a poll round), then its request
// and the receive of its response go to the ring linked, and its close goes with the next enter:
// no epoll registration per connection (epoll_ctl, and the epoll teardown in close), and one
// io_uring_enter per wake-up for every connection's send, receive and close.
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

// user_data: kind | connection index. Sends and closes post a CQE only when they fail.
constexpr uint64_t kRecv = 0;
constexpr uint64_t kSend = 1ULL << 32;
constexpr uint64_t kClose = 2ULL << 32;
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
  // per connection at most a send, a receive and the previous connection's close in the SQ
  if (!InitClientRing(&ring, 3 * n + 8, failure)) return out;
  // Room for one byte more than a response: a longer answer in the same segment fails the check.
  const size_t bufSize = size + 64;
  auto bufs = std::make_unique<char[]>(bufSize * n);
  std::vector<RrConn> conns(n);
  const sockaddr_in sa = ServerAddress(cfg);
  auto run = std::make_unique<RrRun>(cfg, NowNs());
  unsigned receiving = 0;  // receives in flight: each posts exactly one CQE
  uint64_t opened = 0;
  auto armRecv = [&](uint32_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_recv(sqe, conns[i].fd, bufs.get() + i * bufSize, bufSize, 0);
    io_uring_sqe_set_data64(sqe, kRecv | i);
    receiving++;
  };
  // The latency counts from before connect(); the receive starts once the send ended (linked).
  auto open = [&](uint32_t i) {
    uint64_t t = NowNs();
    RrConn& c = conns[i];
    c.fd = ConnectTcp(sa, opened++, failure);
    if (c.fd < 0) return;
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_send(sqe, c.fd, run->Request(c, t), size, MSG_NOSIGNAL | MSG_WAITALL);
    sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, kSend | i);
    armRecv(i);
  };
  for (uint32_t i = 0; i < n && !failure.Failed(); i++) open(i);
  while (!failure.Failed()) {
    uint64_t now = 0;
    if (!EnterAndTick(&ring, false, *run, &now, failure)) break;
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      const uint64_t kind = cqe->user_data & kKind;
      const auto i = static_cast<uint32_t>(cqe->user_data);
      if (kind == kRecv) receiving--;
      if (failure.Failed()) continue;
      if (kind == kSend) {
        failure.Record(cqe->res < 0 ? -cqe->res : EPROTO, "send", cqe->res < 0 ? "" : "a short send");
        continue;
      }
      if (kind == kClose) {
        failure.Record(-cqe->res, "close");
        continue;
      }
      RrConn& c = conns[i];
      if (cqe->res == 0) failure.Record(ECONNRESET, "recv", "the server closed a connection");
      // -ECANCELED: the linked send failed, and said so in its own CQE
      if (cqe->res < 0 && cqe->res != -ECANCELED) failure.Record(-cqe->res, "recv");
      if (cqe->res <= 0) continue;
      if (!run->Received(c, bufs.get() + i * bufSize, static_cast<size_t>(cqe->res), now, failure)) {
        if (!failure.Failed()) armRecv(i);  // the rest of the response
        continue;
      }
      io_uring_sqe* sqe = NextSqe(&ring);
      io_uring_prep_close(sqe, c.fd);
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, kClose | i);
      c.fd = -1;
      if (run->Sending()) open(i);
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_submit(&ring);  // closes still queued
  unsigned left = Quiesce(&ring, receiving, [](io_uring_cqe* c) { return (c->user_data & kKind) == kRecv && c->user_data != kQuiesceCancel; });
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  io_uring_queue_exit(&ring);
  out = run->Finish(out);
  if (left > 0) {
    // Receives that never completed may still write the buffers, sends read the pattern: keep them.
    (void)bufs.release();
    (void)run.release();
  }
  return out;
}

}  // namespace bench
