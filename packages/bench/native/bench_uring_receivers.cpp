#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <vector>

#include "bench_inject.hpp"
#include "bench_receivers.hpp"
#include "bench_uring.hpp"

namespace bench {

namespace {
constexpr uint64_t kStop = UINT64_MAX;
constexpr unsigned kBuffers = 4096;
constexpr int kGroup = 0;
}  // namespace

// One multishot recv (or recvmsg) per socket, all drawing from one provided buffer ring; each CQE
// is one datagram. A request that ends (no IORING_CQE_F_MORE, e.g. after ENOBUFS) is re-armed.
void RunUringRecv(const ReceiverConfig& cfg, bool recvmsg, Counter& received, Failure& failure, const Stop& stop) {
  io_uring ring;
  unsigned flags = 0;
  int r = InitRing(&ring, 1024, 0, &flags);
  if (r < 0) return failure.Record(-r, "io_uring_setup");
  // recvmsg buffers hold io_uring_recvmsg_out + the source address + the payload.
  msghdr mh{};
  mh.msg_namelen = sizeof(sockaddr_in);
  unsigned size = static_cast<unsigned>(cfg.size) + (recvmsg ? sizeof(io_uring_recvmsg_out) + mh.msg_namelen : 0);
  BufRing bufs;
  r = bufs.Setup(&ring, kBuffers, size, kGroup);
  if (r < 0) {
    failure.Record(-r, "io_uring_register_buf_ring");
    io_uring_queue_exit(&ring);
    bufs.ForgetRing();
    return;
  }
  auto arm = [&](uint64_t i) {
    io_uring_sqe* sqe = NextSqe(&ring);
    if (recvmsg) io_uring_prep_recvmsg_multishot(sqe, cfg.fds[i], &mh, 0);
    else io_uring_prep_recv_multishot(sqe, cfg.fds[i], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    io_uring_sqe_set_data64(sqe, i);
  };
  for (size_t i = 0; i < cfg.fds.size(); i++) arm(i);
  io_uring_sqe* stopSqe = NextSqe(&ring);
  io_uring_prep_poll_add(stopSqe, stop.Fd(), POLLIN);
  io_uring_sqe_set_data64(stopSqe, kStop);
  uint64_t total = 0;
  unsigned active = static_cast<unsigned>(cfg.fds.size());
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
      uint64_t idx = cqe->user_data;
      if (idx == kStop) {
        done = true;
        continue;
      }
      if (cqe->flags & IORING_CQE_F_BUFFER) bufs.Recycle(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      if (cqe->res >= 0) total++;
      else if (cqe->res != -ENOBUFS) failure.Record(-cqe->res, recvmsg ? "io_uring recvmsg" : "io_uring recv");
      if (!(cqe->flags & IORING_CQE_F_MORE)) {
        if (done) active--;
        else arm(idx);
      }
    }
    io_uring_cq_advance(&ring, seen);
    bufs.Commit();
    if (cfg.injectLoops) Spin(cfg.injectLoops * (total - before));
    received.Publish(total);
  }
  unsigned left = Quiesce(&ring, active, [&](io_uring_cqe* c) { return c->user_data < cfg.fds.size() && !(c->flags & IORING_CQE_F_MORE); });
  io_uring_queue_exit(&ring);
  if (left > 0) bufs.Abandon();
  else bufs.ForgetRing();
}

}  // namespace bench
