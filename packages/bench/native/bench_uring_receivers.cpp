#include <netinet/in.h>
#include <sys/socket.h>

#include <vector>

#include "bench_receivers.hpp"
#include "bench_uring_multishot.hpp"

namespace bench {

namespace {
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
  unsigned active = ReapMultishot(
      &ring, cfg.fds.size(), stop, bufs, received, cfg.injectLoops, failure, arm,
      [&](io_uring_cqe* cqe) {
        if (cqe->flags & IORING_CQE_F_BUFFER) bufs.Recycle(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        if (cqe->res < 0 && cqe->res != -ENOBUFS) failure.Record(-cqe->res, recvmsg ? "io_uring recvmsg" : "io_uring recv");
        return cqe->res >= 0;
      },
      [](io_uring_cqe*) {});
  unsigned left = Quiesce(&ring, active, [&](io_uring_cqe* c) { return c->user_data < cfg.fds.size() && !(c->flags & IORING_CQE_F_MORE); });
  io_uring_queue_exit(&ring);
  bufs.RingExited(left);
}

}  // namespace bench
