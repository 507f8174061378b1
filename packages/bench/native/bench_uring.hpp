// io_uring pieces shared by the bench's C++ loops: ring setup with the cheapest task-run mode the
// kernel accepts, and a provided buffer ring that works with liburing 2.3 (no io_uring_setup_buf_ring).
#pragma once
#include <cstdint>

#include "uring_compat.hpp"

namespace bench {

// io_uring_queue_init_params with SINGLE_ISSUER|DEFER_TASKRUN (completions run only when this
// thread waits), then COOP_TASKRUN, then plain: older kernels refuse the newer flags with EINVAL.
// `extra` flags (e.g. IOPOLL) are always kept. Returns 0 or -errno; *used gets the flags set.
int InitRing(io_uring* ring, unsigned entries, unsigned extra, unsigned* used);

inline unsigned PowerOfTwoAtLeast(unsigned n) {
  unsigned p = 1;
  while (p < n) p <<= 1;
  return p;
}

// The next free SQE, submitting what is queued when the SQ is full (null only if that failed).
inline io_uring_sqe* NextSqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

// user_data of Quiesce's own cancel request.
constexpr uint64_t kQuiesceCancel = UINT64_MAX - 1;

// Cancels every request on the ring and reaps CQEs until `isFinal` has seen `active` final
// completions or 1 s passed. Returns how many are still outstanding: their buffers may still be
// in the kernel's hands, so the caller must not free them (BufRing::Abandon).
template <typename IsFinal>
unsigned Quiesce(io_uring* ring, unsigned active, IsFinal isFinal) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe != nullptr) {
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, kQuiesceCancel);
  }
  __kernel_timespec ts{0, 100000000};
  for (int i = 0; i < 10 && active > 0; i++) {
    io_uring_cqe* cqe;
    io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      seen++;
      if (isFinal(cqe) && active > 0) active--;
    }
    io_uring_cq_advance(ring, seen);
  }
  return active;
}

// A registered provided-buffer ring of `count` (power of two) buffers of `size` bytes, group `bgid`.
class BufRing {
 public:
  ~BufRing();
  // After io_uring_queue_exit the registration is gone with the ring. With `outstanding` requests
  // that never completed the kernel may still use the buffers: keep the memory (leak it) rather
  // than free what it may write or read; otherwise only the memory is left to free.
  void RingExited(unsigned outstanding) {
    bgid_ = -1;
    if (outstanding == 0) return;
    br_ = nullptr;
    data_ = nullptr;
  }
  // 0 or -errno; a failed setup registered nothing (the destructor frees only the memory).
  int Setup(io_uring* ring, unsigned count, unsigned size, int bgid);
  char* Buffer(unsigned bid) const { return data_ + static_cast<size_t>(bid) * size_; }
  // Hand a buffer back to the kernel; Commit() publishes the ones recycled since the last call.
  void Recycle(unsigned bid) {
    io_uring_buf_ring_add(br_, Buffer(bid), size_, static_cast<unsigned short>(bid), mask_, pending_++);
  }
  void Commit() {
    if (pending_ == 0) return;
    io_uring_buf_ring_advance(br_, pending_);
    pending_ = 0;
  }
  unsigned Size() const { return size_; }

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t brBytes_ = 0;
  char* data_ = nullptr;
  size_t dataBytes_ = 0;
  unsigned size_ = 0;
  int mask_ = 0;
  int pending_ = 0;
  int bgid_ = -1;
};

}  // namespace bench
