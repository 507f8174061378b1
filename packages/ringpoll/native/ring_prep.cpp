// Ring: preparing SQEs (one tracked request, or a batch from SqeBatch) and submitting them.
#include <arpa/inet.h>
#include <sched.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "ring.hpp"
#include "ring_batch_rules.hpp"

namespace {

enum Extra : int { kNone = 0, kSockaddr = 1, kMsgSend = 2, kMsgRecv = 3, kTimespec = 4, kUserData = 5, kAccept = 6 };

}  // namespace

bool Ring::Reserve(unsigned n) {
  io_uring* ring = &state_->ring;
  if (io_uring_sq_space_left(ring) < n) SubmitNow();  // SQ full: submit now, as the kernel would want
  if ((setupFlags_ & IORING_SETUP_SQPOLL) == 0) return io_uring_sq_space_left(ring) >= n;
  // SQPOLL: the SQ thread consumes entries on its own time; wait (bounded) until it made room.
  // io_uring_sqring_wait only waits while the SQ is completely full, so yield while it has some room.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (io_uring_sq_space_left(ring) < n && std::chrono::steady_clock::now() < deadline) {
    SubmitNow();
    if (io_uring_sq_space_left(ring) == 0) {
      int r = io_uring_sqring_wait(ring);
      if (r < 0 && r != -EINTR && r != -EAGAIN) break;
    } else {
      sched_yield();
    }
  }
  return io_uring_sq_space_left(ring) >= n;
}

void Ring::ScheduleSubmit() {
  queued_++;
  if (inflight_++ == 0) {
    // In-flight requests keep this object (and its pinned memory) and the JS completion handler
    // alive; otherwise both are weak, so an IoUring nobody uses can be collected (the handler
    // refers back to it: a strong reference would be a cycle through a GC root).
    Ref();
    if (!onCompletions_.IsEmpty()) onCompletions_.Ref();
    if (refed_) uv_ref(reinterpret_cast<uv_handle_t*>(state_->poll));
  }
  if (queued_ == 1) uv_prepare_start(state_->prepare, OnPrepare);
  UpdateIdle();
}

int Ring::SubmitNow() {
  submits_++;
  // io_uring_submit enters the kernel when there is something to submit (SQPOLL: only to wake
  // the SQ thread) or a CQ overflow to flush.
  bool sqpoll = (setupFlags_ & IORING_SETUP_SQPOLL) != 0;
  unsigned kflags = IO_URING_READ_ONCE(*state_->ring.sq.kflags);
  if ((io_uring_sq_ready(&state_->ring) > 0 && (!sqpoll || (kflags & IORING_SQ_NEED_WAKEUP) != 0)) ||
      (kflags & IORING_SQ_CQ_OVERFLOW) != 0) {
    wake_.enters++;
  }
  int r = io_uring_submit(&state_->ring);
  queued_ = io_uring_sq_ready(&state_->ring);
  if (queued_ == 0) uv_prepare_stop(state_->prepare);
  return r;
}

void Ring::OnPrepare(uv_prepare_t* handle) {
  auto* st = static_cast<RingState*>(handle->data);
  if (st->owner != nullptr) st->owner->SubmitNow();
}

// Reads a host:port into sa; false when host is not an IPv4 address.
static bool ParseAddress(const Napi::Value& port, const Napi::Value& host, sockaddr_in* sa) {
  if (!port.IsNumber() || !host.IsString()) return false;
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(port.As<Napi::Number>().Uint32Value()));
  return inet_pton(AF_INET, host.As<Napi::String>().Utf8Value().c_str(), &sa->sin_addr) == 1;
}

static void SetTimespec(__kernel_timespec* ts, double ms) {
  ts->tv_sec = static_cast<int64_t>(ms / 1000);
  ts->tv_nsec = static_cast<long long>((ms - static_cast<double>(ts->tv_sec) * 1000) * 1e6);
}

// Integer-valued double in [lo, hi] (false for NaN and infinities): safe to convert.
static bool IntegerIn(double v, double lo, double hi) { return v >= lo && v <= hi && v == std::floor(v); }

Slot* Ring::SlotFor(uint32_t tag) {
  uint32_t idx = tag & ~kTrackedTag;
  if (idx >= slots_.size()) slots_.resize(idx + 1);
  return &slots_[idx];
}

// prep(opcode, fd, buffer|null, bufOffset, len, off, opFlags, sqeFlags, ioprio, bufIndexOrGroup, tag,
//      extraKind, a, b, linkTimeoutMs, linkTimeoutTag) -> 0 or -errno (-EPERM: the process's
//      credentials changed since the ring was made, see credentials.hpp). Memory the kernel uses stays
// pinned until the final CQE. With linkTimeoutMs >= 0 an IORING_OP_LINK_TIMEOUT (tagged
// linkTimeoutTag) is linked to the request; both SQEs are reserved before either is prepared, so a
// full SQ cannot submit the request without its timeout. Everything is validated before an SQE is
// taken: a refused request leaves no SQE behind (liburing does not clear a claimed one).
Napi::Value Ring::Prep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  auto opcode = static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value());
  int fd = info[1].As<Napi::Number>().Int32Value();
  uint8_t* data = nullptr;
  size_t bufOffset = info[3].As<Napi::Number>().Uint32Value();
  unsigned len = info[4].As<Napi::Number>().Uint32Value();
  if (info[2].IsTypedArray()) {
    auto buf = info[2].As<Napi::Uint8Array>();
    if (bufOffset > buf.ByteLength() || len > buf.ByteLength() - bufOffset) {
      return Napi::Number::New(env, -EFAULT);
    }
    data = buf.Data() + bufOffset;
  }
  double offD = info[5].As<Napi::Number>().DoubleValue();
  if (!IntegerIn(offD, -1, batch_rules::kMaxPosition)) return Napi::Number::New(env, -EINVAL);
  uint64_t off = offD < 0 ? ~0ULL : static_cast<uint64_t>(offD);
  uint32_t opFlags = info[6].As<Napi::Number>().Uint32Value();
  auto sqeFlags = static_cast<uint8_t>(info[7].As<Napi::Number>().Uint32Value());
  auto ioprio = static_cast<uint16_t>(info[8].As<Napi::Number>().Uint32Value());
  auto bufIndex = static_cast<uint16_t>(info[9].As<Napi::Number>().Uint32Value());
  uint32_t tag = info[10].As<Napi::Number>().Uint32Value();
  int extraKind = info[11].As<Napi::Number>().Int32Value();
  double timeoutMs = info[14].IsNumber() ? info[14].As<Napi::Number>().DoubleValue() : -1;
  uint32_t timeoutTag = info[15].IsNumber() ? info[15].As<Napi::Number>().Uint32Value() : 0;
  bool linked = timeoutMs >= 0;

  // After a credentials change only cancellation goes on: it acts on requests already queued.
  if (opcode != IORING_OP_ASYNC_CANCEL && !credentials_.Unchanged()) return Napi::Number::New(env, -EPERM);

  bool needsExtra = extraKind != kNone && extraKind != kUserData;
  // Memory for the kernel lives in a tracked request's slot.
  if (needsExtra && (tag & kTrackedTag) == 0) return Napi::Number::New(env, -EINVAL);
  if (linked && ((timeoutTag & kTrackedTag) == 0 || timeoutTag == tag || !IntegerIn(timeoutMs, 0, 2147483647))) {
    return Napi::Number::New(env, -EINVAL);
  }
  RequestExtra extra{};
  uint64_t addr = reinterpret_cast<uint64_t>(data);
  switch (extraKind) {
    case kNone:
      break;
    case kSockaddr:
      if (!ParseAddress(info[12], info[13], &extra.addr)) return Napi::Number::New(env, -EINVAL);
      break;
    case kMsgSend:
      if (!ParseAddress(info[12], info[13], &extra.addr)) return Napi::Number::New(env, -EINVAL);
      break;
    case kMsgRecv:
      break;
    case kTimespec:
      if (!info[12].IsNumber() || !IntegerIn(info[12].As<Napi::Number>().DoubleValue(), 0, 2147483647)) {
        return Napi::Number::New(env, -EINVAL);
      }
      SetTimespec(&extra.ts, info[12].As<Napi::Number>().DoubleValue());
      break;
    case kUserData:
      if (!info[12].IsNumber()) return Napi::Number::New(env, -EINVAL);
      addr = info[12].As<Napi::Number>().Uint32Value();
      break;
    case kAccept:
      break;
    default:
      return Napi::Number::New(env, -EINVAL);
  }
  if (!Reserve(linked ? 2 : 1)) return Napi::Number::New(env, -EBUSY);

  // Nothing can fail from here on.
  Slot* slot = (tag & kTrackedTag) != 0 ? SlotFor(tag) : nullptr;
  RequestExtra* e = nullptr;
  if (needsExtra) {
    if (!slot->extra) slot->extra = std::make_unique<RequestExtra>();
    e = slot->extra.get();
    *e = extra;
  }
  switch (extraKind) {
    case kSockaddr:
      addr = reinterpret_cast<uint64_t>(&e->addr);
      off = sizeof(sockaddr_in);
      break;
    case kMsgSend:
    case kMsgRecv:
      e->iov.iov_base = data;
      e->iov.iov_len = len;
      e->msg.msg_name = &e->addr;
      e->msg.msg_namelen = sizeof(sockaddr_in);
      e->msg.msg_iov = data != nullptr ? &e->iov : nullptr;
      e->msg.msg_iovlen = data != nullptr ? 1 : 0;
      addr = reinterpret_cast<uint64_t>(&e->msg);
      len = 1;
      break;
    case kTimespec:
      addr = reinterpret_cast<uint64_t>(&e->ts);
      len = 1;
      break;
    case kAccept:
      e->addrLen = sizeof(sockaddr_in);
      addr = reinterpret_cast<uint64_t>(&e->addr);
      off = reinterpret_cast<uint64_t>(&e->addrLen);
      break;
    default:
      break;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&state_->ring);
  io_uring_prep_rw(opcode, sqe, fd, reinterpret_cast<const void*>(addr), len, off);
  sqe->rw_flags = static_cast<int>(opFlags);  // union: msg_flags, poll32_events, cancel_flags, …
  sqe->flags = static_cast<uint8_t>(sqeFlags | (linked ? IOSQE_IO_LINK : 0));
  sqe->ioprio = ioprio;
  sqe->buf_index = bufIndex;  // union with buf_group
  sqe->user_data = tag;
  // A buffer group it may select from stays counted until the final CQE: in the slot of a tracked
  // request (cancel finds it by the tag alone), in user_data otherwise.
  uint64_t uses = memory_.Acquire((sqeFlags & IOSQE_BUFFER_SELECT) != 0 ? bufIndex : -1, false);
  if (slot != nullptr) slot->memory = uses; else sqe->user_data |= uses;
  if (slot != nullptr) {
    if (info[2].IsTypedArray()) {
      slot->pin = Napi::Persistent(info[2]);
      slot->store = StoreOf(info[2]);
    }
    slot->active = true;
  }
  ScheduleSubmit();
  if (linked) {
    Slot* ts = SlotFor(timeoutTag);
    if (!ts->extra) ts->extra = std::make_unique<RequestExtra>();
    *ts->extra = RequestExtra{};
    SetTimespec(&ts->extra->ts, timeoutMs);
    io_uring_sqe* tsqe = io_uring_get_sqe(&state_->ring);
    io_uring_prep_link_timeout(tsqe, &ts->extra->ts, 0);
    tsqe->user_data = timeoutTag;
    ts->active = true;
    ScheduleSubmit();
  }
  return Napi::Number::New(env, 0);
}

// One SqeBatch entry, read once from the table: the table is shared memory (JS or a worker may
// write it at any time), so what is checked is exactly what is used.
struct BatchEntry {
  double off;
  int32_t fd, bufIndex;
  uint32_t bufOffset, len, opFlags, tag;
  uint16_t bufGroup, ioprio;
  uint8_t opcode, sqeFlags;
};

// Column pointers into the table (layout: lib/uring-batch.ts).
struct BatchTable {
  uint8_t* base;
  size_t cap;
  BatchEntry Load(size_t i) const {
    auto at = [&](size_t columnOffset, size_t width) { return base + columnOffset * cap + width * i; };
    BatchEntry e{};
    std::memcpy(&e.off, at(0, 8), 8);
    std::memcpy(&e.fd, at(8, 4), 4);
    std::memcpy(&e.bufIndex, at(12, 4), 4);
    std::memcpy(&e.bufOffset, at(16, 4), 4);
    std::memcpy(&e.len, at(20, 4), 4);
    std::memcpy(&e.opFlags, at(24, 4), 4);
    std::memcpy(&e.tag, at(28, 4), 4);
    std::memcpy(&e.bufGroup, at(32, 2), 2);
    std::memcpy(&e.ioprio, at(34, 2), 2);
    e.opcode = *at(36, 1);
    e.sqeFlags = *at(37, 1);
    return e;
  }
};

// Checks one entry against batch_rules; on success fills the data address and offset for the SQE.
static int CheckBatchEntry(const BatchEntry& e, const std::vector<iovec>& iovecs, uint8_t** data, uint64_t* off) {
  int rules = batch_rules::RulesOf(e.opcode);
  if (rules < 0 || (e.tag & kTrackedTag) != 0 || (e.sqeFlags & ~batch_rules::kSqeFlags) != 0) return EINVAL;
  bool select = (e.sqeFlags & IOSQE_BUFFER_SELECT) != 0;
  if (select ? (rules & batch_rules::kSelect) == 0 : e.bufGroup != 0) return EINVAL;
  *data = nullptr;
  if (e.bufIndex >= 0) {
    if ((rules & batch_rules::kData) == 0 || select || static_cast<size_t>(e.bufIndex) >= iovecs.size()) {
      return EINVAL;
    }
    const iovec& v = iovecs[e.bufIndex];
    if (e.bufOffset > v.iov_len || e.len > v.iov_len - e.bufOffset) return EFAULT;
    *data = static_cast<uint8_t*>(v.iov_base) + e.bufOffset;
  } else {
    if (e.bufIndex != -1 || (rules & batch_rules::kFixed) != 0 || e.bufOffset != 0) return EINVAL;
    // No buffer: nothing for the kernel to read or write, unless it selects one or len is a value.
    if (!select && (rules & batch_rules::kLenValue) == 0 && e.len != 0) return EINVAL;
  }
  if ((rules & batch_rules::kPosition) != 0) {
    if (!IntegerIn(e.off, -1, batch_rules::kMaxPosition)) return EINVAL;
    *off = e.off < 0 ? ~0ULL : static_cast<uint64_t>(e.off);
  } else {
    if (e.off != 0) return EINVAL;  // also NaN; off is a second address for some opcodes (ACCEPT, SEND)
    *off = 0;
  }
  return 0;
}

// prepBatch(count, capacity, table: Uint8Array) -> SQEs queued, or -errno (-EPERM as for prep). The table is SqeBatch's
// one buffer of columns (lib/uring-batch.ts, same order): off f64, fd i32, bufIndex i32, bufOffset
// u32, len u32, opFlags u32, tag u32, bufGroup u16, ioprio u16, opcode u8, sqeFlags u8. Every entry
// is checked (ring_batch_rules.hpp) before any is queued: a refused batch queues nothing. Fewer than
// count are queued only when the SQ stays full (SQPOLL) or the table changed meanwhile.
Napi::Value Ring::PrepBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  uint32_t count = info[0].As<Napi::Number>().Uint32Value();
  size_t cap = info[1].As<Napi::Number>().Uint32Value();
  auto table = info[2].As<Napi::Uint8Array>();
  if (count > cap || table.ByteLength() < cap * 38) return Napi::Number::New(env, -EFAULT);
  if (!credentials_.Unchanged()) return Napi::Number::New(env, -EPERM);
  BatchTable t{table.Data(), cap};
  uint8_t* data;
  uint64_t off;
  for (uint32_t i = 0; i < count; i++) {
    int err = CheckBatchEntry(t.Load(i), memory_.Iovecs(), &data, &off);
    if (err != 0) return Napi::Number::New(env, -err);
  }
  uint32_t done = 0;
  for (; done < count; done++) {
    BatchEntry e = t.Load(done);
    if (CheckBatchEntry(e, memory_.Iovecs(), &data, &off) != 0 || !Reserve(1)) break;
    io_uring_sqe* sqe = io_uring_get_sqe(&state_->ring);
    io_uring_prep_rw(e.opcode, sqe, e.fd, data, e.len, off);
    sqe->rw_flags = static_cast<int>(e.opFlags);
    sqe->flags = e.sqeFlags;
    sqe->ioprio = e.ioprio;
    sqe->buf_index = (e.sqeFlags & IOSQE_BUFFER_SELECT) != 0 ? e.bufGroup
                                                             : static_cast<uint16_t>(e.bufIndex < 0 ? 0 : e.bufIndex);
    // What it may use (a buffer group, the registered buffers) stays counted until its final CQE.
    bool select = (e.sqeFlags & IOSQE_BUFFER_SELECT) != 0;
    sqe->user_data = e.tag | memory_.Acquire(select ? e.bufGroup : -1, e.bufIndex >= 0);
    ScheduleSubmit();
  }
  if (done == 0 && count > 0) return Napi::Number::New(env, -EBUSY);
  return Napi::Number::New(env, done);
}

Napi::Value Ring::Submit(const Napi::CallbackInfo& info) {
  if (!Open()) return Napi::Number::New(info.Env(), -EBADF);
  return Napi::Number::New(info.Env(), SubmitNow());
}

// takeAddress(tag) -> [port, host, msgFlags]: the peer a recvmsg/accept filled in, and the
// msg_flags the kernel wrote back into a recvmsg's msghdr (MSG_TRUNC: the datagram was cut).
Napi::Value Ring::TakeAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t idx = info[0].As<Napi::Number>().Uint32Value() & ~kTrackedTag;
  if (idx >= slots_.size() || !slots_[idx].extra) return env.Null();
  const RequestExtra& e = *slots_[idx].extra;
  char host[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &e.addr.sin_addr, host, sizeof host);
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::Number::New(env, ntohs(e.addr.sin_port)));
  a.Set(1u, Napi::String::New(env, host));
  a.Set(2u, Napi::Number::New(env, static_cast<uint32_t>(e.msg.msg_flags)));
  return a;
}
