#include "ring_memory.hpp"

#include <cerrno>

#include "addon.hpp"
#include "buffer_ring.hpp"

int RingMemory::Register(io_uring* ring, Napi::Array buffers) {
  Sweep();
  // A set id whose buffers are gone can be reused; ids still counted by requests cannot.
  unsigned id = 0;
  while (id < sets_.size() && (sets_[id].registered || sets_[id].users > 0)) id++;
  if (id == kMaxSets) return -EBUSY;
  std::vector<iovec> iovecs(buffers.Length());
  for (uint32_t i = 0; i < buffers.Length(); i++) {
    auto b = buffers.Get(i).As<Napi::Uint8Array>();
    iovecs[i].iov_base = b.Data();
    iovecs[i].iov_len = b.ByteLength();
  }
  int r = io_uring_register_buffers(ring, iovecs.data(), static_cast<unsigned>(iovecs.size()));
  if (r < 0) return r;
  if (id == sets_.size()) sets_.emplace_back();
  Set& set = sets_[id];
  set.buffers.clear();
  set.stores.clear();
  for (uint32_t i = 0; i < buffers.Length(); i++) {
    set.buffers.push_back(Napi::Persistent(buffers.Get(i)));
    set.stores.push_back(StoreOf(buffers.Get(i)));
  }
  set.registered = true;
  current_ = static_cast<int>(id);
  iovecs_ = std::move(iovecs);
  return 0;
}

int RingMemory::Unregister(io_uring* ring) {
  int r = io_uring_unregister_buffers(ring);
  if (r < 0) return r;
  iovecs_.clear();
  if (current_ >= 0) sets_[current_].registered = false;
  current_ = -1;
  dirty_ = true;
  Sweep();
  return 0;
}

Napi::Value RingMemory::CreateBufferRing(Napi::Env env, io_uring* ring, unsigned count, unsigned size,
                                         unsigned bgid, Napi::Uint8Array data) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768 || size == 0 || bgid > 0xffff ||
      data.ByteLength() < static_cast<size_t>(count) * size) {
    return Napi::Number::New(env, -EINVAL);
  }
  Sweep();
  for (const Ring& r : rings_) {
    if (r.ring->Bgid() == bgid) return Napi::Number::New(env, -EEXIST);
  }
  Napi::Object obj = Addon::Get(env).bufferRingCtor.New({});
  BufferRing* br = BufferRing::Unwrap(obj);
  int r = br->Setup(ring, this, count, size, bgid, data);
  if (r < 0) return Napi::Number::New(env, r);
  rings_.push_back({Napi::Persistent(obj), br});
  return obj;
}

void RingMemory::Retired() {
  dirty_ = true;
  Sweep();
}

uint64_t RingMemory::Acquire(int group, bool registered) {
  uint64_t bits = 0;
  if (group >= 0) {
    if (static_cast<size_t>(group) >= groupUsers_.size()) groupUsers_.resize(group + 1);
    groupUsers_[group]++;
    bits |= kGroupBit | (static_cast<uint64_t>(group) << kGroupShift);
  }
  if (registered && current_ >= 0) {
    sets_[current_].users++;
    bits |= kSetBit | (static_cast<uint64_t>(current_) << kSetShift);
  }
  return bits;
}

void RingMemory::ReleaseBits(uint64_t bits) {
  if ((bits & kGroupBit) != 0) {
    unsigned group = (bits >> kGroupShift) & 0xffff;
    if (group < groupUsers_.size() && groupUsers_[group] > 0) groupUsers_[group]--;
  }
  if ((bits & kSetBit) != 0) {
    unsigned id = (bits >> kSetShift) & (kMaxSets - 1);
    if (id < sets_.size() && sets_[id].users > 0) sets_[id].users--;
  }
  dirty_ = true;
}

void RingMemory::FlushRecycles() {
  for (Ring& r : rings_) r.ring->FlushQueued();
}

void RingMemory::Sweep() {
  if (!dirty_) return;
  dirty_ = false;
  for (Set& set : sets_) {
    if (!set.registered && set.users == 0) {
      set.buffers.clear();
      set.stores.clear();
    }
  }
  for (size_t i = 0; i < rings_.size();) {
    BufferRing* br = rings_[i].ring;
    if (br->Registered() || GroupUsers(br->Bgid()) > 0) {
      i++;
      continue;
    }
    br->Release();
    rings_.erase(rings_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void RingMemory::Clear() {
  for (Ring& r : rings_) r.ring->Detach();
  rings_.clear();
  sets_.clear();
  iovecs_.clear();
  groupUsers_.clear();
  current_ = -1;
}

void RingMemory::Abandon() {
  for (Ring& r : rings_) {
    r.ring->Abandon();
    r.object.SuppressDestruct();
  }
  for (Set& set : sets_) {
    for (auto& b : set.buffers) b.SuppressDestruct();
    (void)new std::vector<Store>(std::move(set.stores));
  }
  rings_.clear();
  sets_.clear();
  iovecs_.clear();
  groupUsers_.clear();
  current_ = -1;
}
