#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "bench_tcp_rr.hpp"
#include "bench_uring.hpp"

namespace bench {

namespace {

constexpr unsigned kBuffers = 4096;
constexpr unsigned kBufferSize = 16384;
// user_data: kind (2 bits) | length (24) | buffer id (16) | fd (20); a recv is just its fd.
constexpr uint64_t kAccept = 1ULL << 62;
constexpr uint64_t kSend = 2ULL << 62;
constexpr int kFdBits = 20;

uint64_t SendData(int fd, unsigned bid, unsigned len) {
  return kSend | (static_cast<uint64_t>(len) << 36) | (static_cast<uint64_t>(bid) << kFdBits) | static_cast<uint64_t>(fd);
}

// What one accepted connection has in flight; its fd closes when nothing is left. One send at a
// time (two on one stream could complete out of order); what arrives meanwhile waits in `queued`.
struct Conn {
  bool recv = false;
  bool ended = false;   // no more receives: end of stream, or failed
  bool failed = false;  // a reset: what is queued is dropped
  bool sending = false;
  std::deque<std::pair<unsigned, unsigned>> queued;  // (buffer id, length)
};

}  // namespace

void RunTcpEchoUringServer(int listenFd, const volatile int32_t* cancel, Failure& failure) {
  io_uring ring;
  unsigned flags = 0;
  int r = InitRing(&ring, 4096, 0, &flags);
  if (r < 0) return failure.Record(-r, "io_uring_setup");
  BufRing bufs;
  r = bufs.Setup(&ring, kBuffers, kBufferSize, 0);
  if (r < 0) {
    failure.Record(-r, "io_uring_register_buf_ring");
    io_uring_queue_exit(&ring);
    return;
  }
  std::vector<Conn> conns;
  unsigned inflight = 0;
  auto armAccept = [&] {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_multishot_accept(sqe, listenFd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, kAccept);
    inflight++;
  };
  auto armRecv = [&](int fd) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, static_cast<uint64_t>(fd));
    conns[fd].recv = true;
    inflight++;
  };
  auto maybeClose = [&](int fd) {
    Conn& c = conns[fd];
    if (!c.ended || c.recv || c.sending || (!c.queued.empty() && !c.failed)) return;
    for (auto [bid, len] : c.queued) bufs.Recycle(bid);
    close(fd);
    c = Conn{};
  };
  // MSG_WAITALL: the kernel itself continues a partial send on a stream socket.
  auto send = [&](int fd, unsigned bid, unsigned len) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_send(sqe, fd, bufs.Buffer(bid), len, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, SendData(fd, bid, len));
    conns[fd].sending = true;
    inflight++;
  };
  armAccept();
  while (*cancel == 0 && !failure.Failed()) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{0, 100'000'000};  // looks at *cancel at least every 100 ms
    r = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr);
    if (r < 0 && r != -ETIME && r != -EINTR) {
      failure.Record(-r, "io_uring_enter");
      break;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      uint64_t ud = cqe->user_data;
      bool final = (cqe->flags & IORING_CQE_F_MORE) == 0;
      if (final) inflight--;
      if (ud == kAccept) {
        if (cqe->res >= 0 && cqe->res < (1 << kFdBits)) {
          if (static_cast<size_t>(cqe->res) >= conns.size()) conns.resize(static_cast<size_t>(cqe->res) + 1);
          // Each receive is answered from its own buffer: a request arriving in pieces leaves in
          // pieces, and Nagle would hold every one after the first until the client's delayed ACK.
          int one = 1;
          setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          armRecv(cqe->res);
        } else if (cqe->res >= 0) {
          close(cqe->res);
        }
        if (final) armAccept();
      } else if ((ud & kSend) != 0) {
        int fd = static_cast<int>(ud & ((1u << kFdBits) - 1));
        Conn& c = conns[fd];
        bufs.Recycle(static_cast<unsigned>((ud >> kFdBits) & 0xffff));
        c.sending = false;
        // A send ends short (MSG_WAITALL) or fails only when the peer is gone: the client closes
        // connections with requests in flight at the end of a run. Not the server's concern.
        if (cqe->res < 0 || static_cast<uint64_t>(cqe->res) != ((ud >> 36) & 0xffffff)) c.ended = c.failed = true;
        if (!c.failed && !c.queued.empty()) {
          auto [bid, len] = c.queued.front();
          c.queued.pop_front();
          send(fd, bid, len);
        }
        maybeClose(fd);
      } else {
        int fd = static_cast<int>(ud);
        Conn& c = conns[fd];
        if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER) != 0) {
          auto bid = static_cast<unsigned>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          auto len = static_cast<unsigned>(cqe->res);
          if (c.sending) c.queued.emplace_back(bid, len);
          else send(fd, bid, len);
        } else if (cqe->res == 0) {
          c.ended = true;  // end of stream: close once everything received is echoed
        } else if (cqe->res != -ENOBUFS) {
          c.ended = c.failed = true;
        }
        if (final) {
          c.recv = false;
          if (!c.ended) armRecv(fd);
          maybeClose(fd);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
    bufs.Commit();
  }
  unsigned left = Quiesce(&ring, inflight, [](io_uring_cqe* c) {
    if (c->user_data == kAccept && c->res >= 0) close(c->res);  // accepted while stopping
    return c->user_data != kQuiesceCancel && (c->flags & IORING_CQE_F_MORE) == 0;
  });
  for (size_t fd = 0; fd < conns.size(); fd++) {
    if (conns[fd].recv || conns[fd].sending || conns[fd].ended) close(static_cast<int>(fd));
  }
  io_uring_queue_exit(&ring);
  bufs.RingExited(left);
}

}  // namespace bench
