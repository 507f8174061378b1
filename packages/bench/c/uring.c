/* Yardstick: one multishot recv per socket, one provided buffer ring (liburing 2.3 API). */
#include "yardstick.h"
#include <liburing.h>
#include <sys/mman.h>

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

enum { NBUF = 4096 };

int main(int argc, char **argv) {
  setup(argc, argv);
  struct io_uring ring;
  struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
  if (io_uring_queue_init_params(1024, &ring, &p) < 0) return 1;
  struct io_uring_buf_ring *br = mmap(NULL, NBUF * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
                                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  char *data = mmap(NULL, (size_t)NBUF * size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  io_uring_buf_ring_init(br);
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = 0};
  if (io_uring_register_buf_ring(&ring, &reg, 0) < 0) return 1;
  int mask = io_uring_buf_ring_mask(NBUF);
  for (int i = 0; i < NBUF; i++) io_uring_buf_ring_add(br, data + (size_t)i * size, size, i, mask, i);
  io_uring_buf_ring_advance(br, NBUF);
  for (int i = 0; i < nfds; i++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) io_uring_submit(&ring), sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, 3 + i, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    sqe->user_data = 3 + i;
  }
  struct __kernel_timespec ts = {0, 100000000};
  for (;;) {
    struct io_uring_cqe *cqe;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
    unsigned head, seen = 0;
    int added = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      if (cqe->user_data == LIBURING_UDATA_TIMEOUT) continue;
      if (cqe->res >= 0) packets++;
      if (cqe->flags & IORING_CQE_F_BUFFER) {
        int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        io_uring_buf_ring_add(br, data + (size_t)bid * size, size, bid, mask, added++);
      }
      if (!(cqe->flags & IORING_CQE_F_MORE)) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(sqe, (int)cqe->user_data, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        sqe->user_data = cqe->user_data;
      }
    }
    io_uring_cq_advance(&ring, seen);
    io_uring_buf_ring_advance(br, added);
    if (!tick()) return 0;
  }
}
