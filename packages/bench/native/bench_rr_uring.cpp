#include <poll.h>

#include <vector>

#include "bench_inject.hpp"
#include "bench_rr.hpp"
#include "bench_uring.hpp"

namespace bench {

namespace {
constexpr uint64_t kStop = UINT64_MAX;
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
    bufs.ForgetRing();
    return;
  }
  auto arm = [&](uint64_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    io_uring_prep_recv_multishot(sqe, cfg.fds[i], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, i);
  };
  for (size_t i = 0; i < cfg.fds.size(); i++) arm(i);
  io_uring_sqe* stopSqe = NextSqe(&ring);
  io_uring_prep_poll_add(stopSqe, stop.Fd(), POLLIN);
  io_uring_sqe_set_data64(stopSqe, kStop);
  uint64_t total = 0;
  unsigned active = static_cast<unsigned>(cfg.fds.size());
  unsigned sending = 0;  // sends in flight read from ring buffers: they must finish before the buffers go
  bool done = false;
  while (!done && !failure.Failed()) {
    r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR) {
      failure.Record(-r, "io_uring_enter");
      break;
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    uint64_t before = total;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      uint64_t ud = cqe->user_data;
      if (ud == kStop) {
        done = true;
      } else if (ud & kSend) {
        sending--;
        bufs.Recycle(static_cast<unsigned>(ud & 0xffff));
        if (cqe->res < 0 && cqe->res != -ECONNREFUSED) failure.Record(-cqe->res, "io_uring send");
      } else {
        if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
          unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
          total++;
          io_uring_sqe* sqe = NextSqe(&ring);
          io_uring_prep_send(sqe, cfg.fds[ud], bufs.Buffer(bid), cqe->res, 0);
          io_uring_sqe_set_data64(sqe, kSend | bid);
          sending++;
        } else if (cqe->res < 0 && cqe->res != -ENOBUFS) {
          failure.Record(-cqe->res, "io_uring recv");
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
          if (done) active--;
          else arm(ud);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
    bufs.Commit();
    if (cfg.injectLoops) Spin(cfg.injectLoops * (total - before));
    requests.Publish(total);
  }
  unsigned left = Quiesce(&ring, active + sending, [&](io_uring_cqe* c) {
    uint64_t ud = c->user_data;
    bool send = (ud & kSend) != 0 && ud < kQuiesceCancel;
    return send || (ud < cfg.fds.size() && !(c->flags & IORING_CQE_F_MORE));
  });
  io_uring_queue_exit(&ring);
  if (left > 0) bufs.Abandon();
  else bufs.ForgetRing();
}

}  // namespace bench
