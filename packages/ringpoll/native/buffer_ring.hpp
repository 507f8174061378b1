// BufferRing: a provided-buffer ring (IORING_REGISTER_PBUF_RING) the kernel picks receive buffers
// from. The data area is a view of a SharedArrayBuffer (JS cannot detach or transfer it away),
// held by native code until no request that may select from it is in flight (RingMemory); JS reads
// it in place (lease) or copies.
#pragma once
#include <napi.h>

#include "uring_compat.hpp"

class RingMemory;

class BufferRing : public Napi::ObjectWrap<BufferRing> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Created only by RingMemory (constructor kept in Addon), which then calls Setup.
  explicit BufferRing(const Napi::CallbackInfo& info);
  ~BufferRing() override;

  // Registers `count` (power of two) buffers of `size` bytes from `data` as group `bgid`; 0 or -errno.
  int Setup(io_uring* ring, RingMemory* memory, unsigned count, unsigned size, unsigned bgid, Napi::Uint8Array data);
  unsigned Bgid() const { return bgid_; }
  bool Registered() const { return ring_ != nullptr; }
  // Unregistered and no request of the group in flight: drop the data.
  void Release();
  // The ring is gone (exit unregisters it): free the entries, drop the data (at env teardown too:
  // the env does not delete references it did not create).
  void Detach();
  // The ring is gone while the kernel may still write: keep the data and entries forever.
  void Abandon();
  // Hands back the buffers lib/ queued during a completion pass (setRecycleQueue): the ring calls
  // this after each JS call, so a pass costs no extra JS→native call to return its buffers.
  void FlushQueued();

 private:
  Napi::Value Recycle(const Napi::CallbackInfo& info);
  Napi::Value Unregister(const Napi::CallbackInfo& info);
  Napi::Value Available(const Napi::CallbackInfo& info);
  Napi::Value SetRecycleQueue(const Napi::CallbackInfo& info);
  int Add(const uint16_t* bids, size_t n);
  void UnmapEntries();
  void Free();

  io_uring* ring_ = nullptr;
  RingMemory* memory_ = nullptr;
  io_uring_buf_ring* entries_ = nullptr;
  size_t entriesBytes_ = 0;
  uint8_t* data_ = nullptr;
  Napi::Reference<Napi::Uint8Array> dataRef_;
  unsigned count_ = 0;
  unsigned size_ = 0;
  unsigned bgid_ = 0;
  bool abandoned_ = false;
  // The recycle queue: bids and their count, in SharedArrayBuffers (never detached) lib/ writes.
  Napi::Reference<Napi::Uint16Array> queueRef_;
  Napi::Reference<Napi::Int32Array> queuedRef_;
  uint16_t* queue_ = nullptr;
  int32_t* queued_ = nullptr;
  size_t queueLen_ = 0;
};
