#include "buffer_ring.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ring_memory.hpp"

Napi::Function BufferRing::Init(Napi::Env env) {
  return DefineClass(env, "BufferRing",
                     {InstanceMethod<&BufferRing::Recycle>("recycle"),
                      InstanceMethod<&BufferRing::Unregister>("unregister"),
                      InstanceMethod<&BufferRing::Available>("available"),
                      InstanceMethod<&BufferRing::SetRecycleQueue>("setRecycleQueue")});
}

BufferRing::BufferRing(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BufferRing>(info) {}

BufferRing::~BufferRing() {
  // RingMemory holds a reference to us while the kernel may use the buffers (registered, or
  // requests of the group in flight), so reaching here means nothing can use them any more.
  Free();
}

int BufferRing::Setup(io_uring* ring, RingMemory* memory, unsigned count, unsigned size, unsigned bgid,
                      Napi::Uint8Array data) {
  entriesBytes_ = count * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, entriesBytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return -errno;
  entries_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(entries_);
  reg.ring_entries = count;
  reg.bgid = static_cast<uint16_t>(bgid);
  int r = io_uring_register_buf_ring(ring, &reg, 0);
  if (r < 0) {
    Free();
    return r;
  }
  ring_ = ring;
  memory_ = memory;
  count_ = count;
  size_ = size;
  bgid_ = bgid;
  data_ = data.Data();
  dataRef_ = Napi::Persistent(data);
  io_uring_buf_ring_init(entries_);
  int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; i++) {
    io_uring_buf_ring_add(entries_, data_ + static_cast<size_t>(i) * size, size, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(entries_, static_cast<int>(count));
  return 0;
}

// Adds bids[0..n) to the ring and publishes them; -EINVAL (nothing published) for a bid out of range.
int BufferRing::Add(const uint16_t* bids, size_t n) {
  int mask = io_uring_buf_ring_mask(count_);
  for (size_t i = 0; i < n; i++) {
    uint16_t bid = bids[i];
    if (bid >= count_) return -EINVAL;
    io_uring_buf_ring_add(entries_, data_ + static_cast<size_t>(bid) * size_, size_, bid, mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(entries_, static_cast<int>(n));
  return 0;
}

// recycle(bids: Uint16Array, n): hand buffers back to the kernel in one call.
Napi::Value BufferRing::Recycle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ring_ == nullptr) return Napi::Number::New(env, -EBADF);
  auto bids = info[0].As<Napi::Uint16Array>();
  size_t n = info[1].As<Napi::Number>().Uint32Value();
  if (n > bids.ElementLength()) return Napi::Number::New(env, -EFAULT);
  return Napi::Number::New(env, Add(bids.Data(), n));
}

// setRecycleQueue(bids: Uint16Array, queued: Int32Array) -> 0 or -EINVAL. lib/ backs both with
// SharedArrayBuffers (never detached), so the pointers stay valid while the references hold them.
Napi::Value BufferRing::SetRecycleQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto bids = info[0].As<Napi::Uint16Array>();
  auto queued = info[1].As<Napi::Int32Array>();
  if (queued.ElementLength() < 1) return Napi::Number::New(env, -EINVAL);
  queueRef_ = Napi::Persistent(bids);
  queuedRef_ = Napi::Persistent(queued);
  queue_ = bids.Data();
  queued_ = queued.Data();
  queueLen_ = bids.ElementLength();
  return Napi::Number::New(env, 0);
}

void BufferRing::FlushQueued() {
  if (queued_ == nullptr || *queued_ == 0) return;
  size_t n = std::min(static_cast<size_t>(std::max(*queued_, 0)), queueLen_);
  *queued_ = 0;
  // Unregistered meanwhile: the kernel picks nothing from this group any more.
  if (ring_ != nullptr) Add(queue_, n);
}

// unregister() -> 0 or -errno. The kernel stops selecting from the group at once, but a request
// that already took a buffer may still write into it: RingMemory keeps the data until the
// group's requests have completed.
Napi::Value BufferRing::Unregister(const Napi::CallbackInfo& info) {
  if (ring_ == nullptr) return Napi::Number::New(info.Env(), 0);
  int r = io_uring_unregister_buf_ring(ring_, static_cast<int>(bgid_));
  if (r < 0) return Napi::Number::New(info.Env(), r);
  ring_ = nullptr;
  UnmapEntries();
  if (memory_ != nullptr) memory_->Retired();
  return Napi::Number::New(info.Env(), 0);
}

// available() -> buffers the kernel can still pick (our tail minus the kernel's head) or -errno.
// IORING_REGISTER_PBUF_STATUS is 6.8+; liburing 2.3 has no wrapper for it.
Napi::Value BufferRing::Available(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ring_ == nullptr) return Napi::Number::New(env, -EBADF);
  struct {
    uint32_t bufGroup;
    uint32_t head;
    uint32_t resv[8];
  } status{};
  status.bufGroup = bgid_;
  constexpr unsigned kRegisterPbufStatus = 26;
  long r = syscall(__NR_io_uring_register, ring_->ring_fd, kRegisterPbufStatus, &status, 1);
  if (r < 0) return Napi::Number::New(env, -errno);
  uint16_t tail = IO_URING_READ_ONCE(entries_->tail);
  return Napi::Number::New(env, static_cast<uint16_t>(tail - status.head));
}

void BufferRing::Release() {
  memory_ = nullptr;
  Free();
}

void BufferRing::Detach() {
  ring_ = nullptr;
  memory_ = nullptr;
  Free();
}

void BufferRing::Abandon() {
  ring_ = nullptr;
  memory_ = nullptr;
  entries_ = nullptr;
  data_ = nullptr;
  queue_ = nullptr;
  queued_ = nullptr;
  if (!dataRef_.IsEmpty()) dataRef_.SuppressDestruct();
  abandoned_ = true;
}

void BufferRing::UnmapEntries() {
  if (entries_ != nullptr) munmap(entries_, entriesBytes_);
  entries_ = nullptr;
}

void BufferRing::Free() {
  UnmapEntries();
  queue_ = nullptr;
  queued_ = nullptr;
  data_ = nullptr;
  if (!abandoned_ && !dataRef_.IsEmpty()) dataRef_.Reset();
}
