// The reaping loop of the bench's multishot UDP receivers (pps receivers, the udp-rr server): one
// multishot receive per socket (user_data = socket index) and a poll on the stop eventfd.
#pragma once
#include <poll.h>

#include <cerrno>
#include <cstdint>

#include "bench_common.hpp"
#include "bench_inject.hpp"
#include "bench_uring.hpp"

namespace bench {

constexpr uint64_t kMultishotStop = UINT64_MAX;

// Arms every socket, then reaps until the stop poll completes. onRecv(cqe) handles a receive CQE and
// returns whether it carried a datagram (counted, published, and charged injectLoops of work);
// onOther(cqe) gets the CQEs of the caller's own requests (user_data >= sockets). A receive that
// ends (no IORING_CQE_F_MORE, e.g. after ENOBUFS) is re-armed until stop. Returns how many
// receives are still armed, for Quiesce.
template <typename Arm, typename OnRecv, typename OnOther>
unsigned ReapMultishot(io_uring* ring, size_t sockets, const Stop& stop, BufRing& bufs, Counter& published,
                       uint64_t injectLoops, Failure& failure, Arm arm, OnRecv onRecv, OnOther onOther) {
  for (size_t i = 0; i < sockets; i++) arm(i);
  io_uring_sqe* stopSqe = NextSqe(ring);
  io_uring_prep_poll_add(stopSqe, stop.Fd(), POLLIN);
  io_uring_sqe_set_data64(stopSqe, kMultishotStop);
  uint64_t total = 0;
  unsigned active = static_cast<unsigned>(sockets);
  bool done = false;
  while (!done && !failure.Failed()) {
    int r = io_uring_submit_and_wait(ring, 1);
    if (r < 0 && r != -EINTR) {
      failure.Record(-r, "io_uring_enter");
      break;
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    uint64_t before = total;
    io_uring_for_each_cqe(ring, head, cqe) {
      seen++;
      uint64_t ud = cqe->user_data;
      if (ud == kMultishotStop) {
        done = true;
      } else if (ud >= sockets) {
        onOther(cqe);
      } else {
        if (onRecv(cqe)) total++;
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
          if (done) active--;
          else arm(ud);
        }
      }
    }
    io_uring_cq_advance(ring, seen);
    bufs.Commit();
    if (injectLoops) Spin(injectLoops * (total - before));
    published.Publish(total);
  }
  return active;
}

}  // namespace bench
