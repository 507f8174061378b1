// RingMemory: the memory a ring's requests reach besides their own pinned buffer — registered
// buffers and provided buffer rings — with a count of the requests in flight that may use each.
// Unregistering does not stop a request that already took an address, so memory is released when
// the last such request completes; and only then, not when the whole ring is idle (a long-lived
// multishot receive must not keep every unregistered set alive).
#pragma once
#include <napi.h>
#include <sys/uio.h>

#include <vector>

#include "backing_store.hpp"
#include "uring_compat.hpp"

class BufferRing;

class RingMemory {
 public:
  // What a request may use, as bits above its 32-bit tag in user_data (bit 32 is the ring's own
  // kInternal): a buffer group and/or the registered-buffer set in force when it was prepared.
  static constexpr uint64_t kGroupBit = 1ULL << 33;
  static constexpr int kGroupShift = 34;  // 16 bits
  static constexpr uint64_t kSetBit = 1ULL << 50;
  static constexpr int kSetShift = 51;  // 13 bits
  static constexpr unsigned kMaxSets = 1u << 13;

  // registerBuffers / unregisterBuffers: 0 or -errno.
  int Register(io_uring* ring, Napi::Array buffers);
  int Unregister(io_uring* ring);
  const std::vector<iovec>& Iovecs() const { return iovecs_; }

  // A provided buffer ring over `data` (a view of a SharedArrayBuffer): the BufferRing object, or
  // -errno (-EEXIST while an unregistered ring of this group still waits for its requests).
  Napi::Value CreateBufferRing(Napi::Env env, io_uring* ring, unsigned count, unsigned size, unsigned bgid,
                               Napi::Uint8Array data);
  // A buffer ring was unregistered from the kernel: its data goes once no request of its group is
  // in flight.
  void Retired();

  // Count a request that may select from `group` (-1: none) and/or use the registered buffers;
  // returns the user_data bits that Release takes back.
  uint64_t Acquire(int group, bool registered);
  void Release(uint64_t bits) {
    if ((bits & (kGroupBit | kSetBit)) != 0) ReleaseBits(bits);
  }
  // Every buffer ring hands back the buffers lib/ queued during the JS call that just returned.
  void FlushRecycles();
  // Drop what is unregistered and no longer in use (napi calls: not at env teardown).
  void Sweep();

  // The ring is gone and every CQE was reaped: release everything (at env teardown too: the env
  // does not delete references it did not create).
  void Clear();
  // The ring is gone but the kernel may still write: keep every byte forever rather than free it.
  void Abandon();

 private:
  struct Set {
    std::vector<Napi::Reference<Napi::Value>> buffers;
    std::vector<Store> stores;  // their memory, even if JS transfers it away (the kernel keeps the pages)
    uint32_t users = 0;
    bool registered = false;
  };
  struct Ring {
    Napi::ObjectReference object;
    BufferRing* ring;
  };

  void ReleaseBits(uint64_t bits);
  uint32_t GroupUsers(unsigned bgid) const { return bgid < groupUsers_.size() ? groupUsers_[bgid] : 0; }

  std::vector<iovec> iovecs_;
  std::vector<Set> sets_;  // index = set id in user_data
  int current_ = -1;       // the registered set, if any
  std::vector<Ring> rings_;
  std::vector<uint32_t> groupUsers_;  // by bgid
  bool dirty_ = false;                // something was released or retired since the last Sweep
};
