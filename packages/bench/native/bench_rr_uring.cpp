#include <vector>

#include "bench_rr.hpp"
#include "bench_uring_multishot.hpp"

namespace bench {

namespace {
constexpr uint64_t kSend = 1ULL << 62;  // user_data of a send: kSend | buffer id
constexpr unsigned kBuffers = 4096;
}  // namespace

void RunRrUringServer(const RrConfig& cfg, Counter& requests, Failure& failure, const Stop& stop) {
  io_uring ring;
  unsigned flags = 0;
  // Room for a recv re-arm and a send per flow in one pass.
  int r = InitRing(&ring, 4096, 0, &flags);
  if (r < 0) return failure.Record(-r, "io_uring_setup");
  BufRing bufs;
  r = bufs.Setup(&ring, kBuffers, static_cast<unsigned>(cfg.size > 0 ? cfg.size : 1), 0);
  if (r < 0) {
    failure.Record(-r, "io_uring_register_buf_ring");
    io_uring_queue_exit(&ring);
    return;
  }
  auto arm = [&](uint64_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_recv_multishot(sqe, cfg.fds[i], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, i);
  };
  unsigned sending = 0;  // sends in flight read from ring buffers: they must finish before the buffers go
  unsigned active = ReapMultishot(
      &ring, cfg.fds.size(), stop, bufs, requests, cfg.injectLoops, failure, arm,
      [&](io_uring_cqe* cqe) {
        if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
          unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
          io_uring_sqe* sqe = NextSqe(&ring);
          io_uring_prep_send(sqe, cfg.fds[cqe->user_data], bufs.Buffer(bid), cqe->res, 0);
          io_uring_sqe_set_data64(sqe, kSend | bid);
          sending++;
          return true;
        }
        if (cqe->res < 0 && cqe->res != -ENOBUFS) failure.Record(-cqe->res, "io_uring recv");
        return false;
      },
      [&](io_uring_cqe* cqe) {  // a send finished: its buffer goes back to the ring
        sending--;
        bufs.Recycle(static_cast<unsigned>(cqe->user_data & 0xffff));
        if (cqe->res < 0 && cqe->res != -ECONNREFUSED) failure.Record(-cqe->res, "io_uring send");
      });
  unsigned left = Quiesce(&ring, active + sending, [&](io_uring_cqe* c) {
    uint64_t ud = c->user_data;
    bool send = (ud & kSend) != 0 && ud < kQuiesceCancel;
    return send || (ud < cfg.fds.size() && !(c->flags & IORING_CQE_F_MORE));
  });
  io_uring_queue_exit(&ring);
  bufs.RingExited(left);
}

}  // namespace bench
