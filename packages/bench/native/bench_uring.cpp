#include "bench_uring.hpp"

#include <sys/mman.h>

#include <cerrno>

namespace bench {

int InitRing(io_uring* ring, unsigned entries, unsigned extra, unsigned* used) {
  const unsigned modes[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_COOP_TASKRUN, 0};
  int r = -EINVAL;
  for (unsigned mode : modes) {
    io_uring_params p{};
    p.flags = mode | extra;
    r = io_uring_queue_init_params(entries, ring, &p);
    if (r == 0) {
      *used = p.flags;
      return 0;
    }
    if (r != -EINVAL) return r;
  }
  return r;
}

BufRing::~BufRing() {
  if (bgid_ >= 0) io_uring_unregister_buf_ring(ring_, bgid_);
  if (br_ != nullptr) munmap(br_, brBytes_);
  if (data_ != nullptr) munmap(data_, dataBytes_);
}

int BufRing::Setup(io_uring* ring, unsigned count, unsigned size, int bgid) {
  ring_ = ring;
  size_ = size;
  mask_ = io_uring_buf_ring_mask(count);
  // The ring itself must be page aligned; mmap gives that (io_uring_setup_buf_ring does the same from 2.4).
  brBytes_ = count * sizeof(io_uring_buf);
  void* p = mmap(nullptr, brBytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (p == MAP_FAILED) return -errno;
  br_ = static_cast<io_uring_buf_ring*>(p);
  dataBytes_ = static_cast<size_t>(count) * size;
  p = mmap(nullptr, dataBytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (p == MAP_FAILED) return -errno;
  data_ = static_cast<char*>(p);
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = static_cast<uint16_t>(bgid);
  int r = io_uring_register_buf_ring(ring, &reg, 0);
  if (r < 0) return r;
  bgid_ = bgid;
  for (unsigned i = 0; i < count; i++) Recycle(i);
  Commit();
  return 0;
}

}  // namespace bench
