// Ring: preparing SQEs (one tracked request, or a batch from SqeBatch) and submitting them.
#include <arpa/inet.h>

#include <cerrno>
#include <string>

#include "ring.hpp"

namespace {

enum Extra : int { kNone = 0, kSockaddr = 1, kMsgSend = 2, kMsgRecv = 3, kTimespec = 4, kUserData = 5, kAccept = 6 };

}  // namespace

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&state_->ring);
  if (sqe == nullptr) {  // SQ full: submit now, as the kernel would want
    SubmitNow();
    sqe = io_uring_get_sqe(&state_->ring);
  }
  // SQPOLL: the SQ thread consumes entries on its own time; wait (bounded) until it made room.
  for (int tries = 0; sqe == nullptr && (setupFlags_ & IORING_SETUP_SQPOLL) != 0 && tries < 1000; tries++) {
    SubmitNow();
    int r = io_uring_sqring_wait(&state_->ring);
    if (r < 0 && r != -EINTR && r != -EAGAIN) break;
    sqe = io_uring_get_sqe(&state_->ring);
  }
  return sqe;
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

Napi::Value Ring::Prep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
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
  uint64_t off = offD < 0 ? ~0ULL : static_cast<uint64_t>(offD);
  uint32_t opFlags = info[6].As<Napi::Number>().Uint32Value();
  auto sqeFlags = static_cast<uint8_t>(info[7].As<Napi::Number>().Uint32Value());
  auto ioprio = static_cast<uint16_t>(info[8].As<Napi::Number>().Uint32Value());
  auto bufIndex = static_cast<uint16_t>(info[9].As<Napi::Number>().Uint32Value());
  uint32_t tag = info[10].As<Napi::Number>().Uint32Value();
  int extraKind = info[11].As<Napi::Number>().Int32Value();

  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return Napi::Number::New(env, -EBUSY);

  uint64_t addr = reinterpret_cast<uint64_t>(data);
  RequestExtra* extra = nullptr;
  Slot* slot = nullptr;
  if ((tag & kTrackedTag) != 0) {
    uint32_t idx = tag & ~kTrackedTag;
    if (idx >= slots_.size()) slots_.resize(idx + 1);
    slot = &slots_[idx];
    if (extraKind != kNone && extraKind != kUserData) {
      if (!slot->extra) slot->extra = std::make_unique<RequestExtra>();
      extra = slot->extra.get();
      *extra = RequestExtra{};
    }
  }
  if (extraKind != kNone && extraKind != kUserData && extra == nullptr) {
    return Napi::Number::New(env, -EINVAL);  // memory for the kernel needs a tracked tag
  }
  auto setAddr = [&](size_t portArg) {
    extra->addr.sin_family = AF_INET;
    extra->addr.sin_port = htons(static_cast<uint16_t>(info[portArg].As<Napi::Number>().Uint32Value()));
    std::string host = info[portArg + 1].As<Napi::String>().Utf8Value();
    return inet_pton(AF_INET, host.c_str(), &extra->addr.sin_addr) == 1;
  };
  switch (extraKind) {
    case kSockaddr:
      if (!setAddr(12)) return Napi::Number::New(env, -EINVAL);
      addr = reinterpret_cast<uint64_t>(&extra->addr);
      off = sizeof(sockaddr_in);
      break;
    case kMsgSend:
    case kMsgRecv:
      if (extraKind == kMsgSend && !setAddr(12)) return Napi::Number::New(env, -EINVAL);
      extra->iov.iov_base = data;
      extra->iov.iov_len = len;
      extra->msg.msg_name = &extra->addr;
      extra->msg.msg_namelen = sizeof(sockaddr_in);
      extra->msg.msg_iov = data != nullptr ? &extra->iov : nullptr;
      extra->msg.msg_iovlen = data != nullptr ? 1 : 0;
      addr = reinterpret_cast<uint64_t>(&extra->msg);
      len = 1;
      break;
    case kTimespec: {
      double ms = info[12].As<Napi::Number>().DoubleValue();
      extra->ts.tv_sec = static_cast<int64_t>(ms / 1000);
      extra->ts.tv_nsec = static_cast<long long>((ms - static_cast<double>(extra->ts.tv_sec) * 1000) * 1e6);
      addr = reinterpret_cast<uint64_t>(&extra->ts);
      len = 1;
      break;
    }
    case kUserData:
      addr = info[12].As<Napi::Number>().Uint32Value();
      break;
    case kAccept:
      extra->addrLen = sizeof(sockaddr_in);
      addr = reinterpret_cast<uint64_t>(&extra->addr);
      off = reinterpret_cast<uint64_t>(&extra->addrLen);
      break;
    default:
      break;
  }
  io_uring_prep_rw(opcode, sqe, fd, reinterpret_cast<const void*>(addr), len, off);
  sqe->rw_flags = static_cast<int>(opFlags);  // union: msg_flags, poll32_events, cancel_flags, …
  sqe->flags = sqeFlags;
  sqe->ioprio = ioprio;
  sqe->buf_index = bufIndex;  // union with buf_group
  sqe->user_data = tag;
  if (slot != nullptr) {
    if (info[2].IsTypedArray()) slot->pin = Napi::Persistent(info[2]);
    slot->active = true;
  }
  ScheduleSubmit();
  return Napi::Number::New(env, 0);
}

// prepBatch(count, capacity, table: Uint8Array) -> SQEs queued (or -errno if none). The table is
// SqeBatch's one buffer of columns (lib/uring-batch.ts, same order): off f64, fd i32, bufIndex
// i32, bufOffset u32, len u32, opFlags u32, tag u32, bufGroup u16, ioprio u16, opcode u8, sqeFlags u8.
// Data addresses come only from registered buffers (pinned until unregistered) or buffer selection.
Napi::Value Ring::PrepBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  uint32_t count = info[0].As<Napi::Number>().Uint32Value();
  size_t cap = info[1].As<Napi::Number>().Uint32Value();
  auto table = info[2].As<Napi::Uint8Array>();
  if (count > cap || table.ByteLength() < cap * 38 || (reinterpret_cast<uintptr_t>(table.Data()) & 7) != 0) {
    return Napi::Number::New(env, -EFAULT);
  }
  uint8_t* base = table.Data();
  auto* of = reinterpret_cast<const double*>(base);
  auto* fd = reinterpret_cast<const int32_t*>(base + 8 * cap);
  auto* bi = reinterpret_cast<const int32_t*>(base + 12 * cap);
  auto* bo = reinterpret_cast<const uint32_t*>(base + 16 * cap);
  auto* ln = reinterpret_cast<const uint32_t*>(base + 20 * cap);
  auto* opf = reinterpret_cast<const uint32_t*>(base + 24 * cap);
  auto* tg = reinterpret_cast<const uint32_t*>(base + 28 * cap);
  auto* bg = reinterpret_cast<const uint16_t*>(base + 32 * cap);
  auto* pr = reinterpret_cast<const uint16_t*>(base + 34 * cap);
  const uint8_t* op = base + 36 * cap;
  const uint8_t* sf = base + 37 * cap;
  uint32_t done = 0;
  // Stop at the first bad entry: report what was queued, or the error when nothing was.
  auto stop = [&](int err) { return Napi::Number::New(env, done > 0 ? static_cast<double>(done) : -err); };
  for (; done < count; done++) {
    uint8_t* data = nullptr;
    int idx = bi[done];
    if (idx >= 0) {
      if (static_cast<size_t>(idx) >= iovecs_.size()) return stop(EINVAL);
      const iovec& v = iovecs_[idx];
      if (bo[done] > v.iov_len || ln[done] > v.iov_len - bo[done]) {
        return stop(EFAULT);
      }
      data = static_cast<uint8_t*>(v.iov_base) + bo[done];
    }
    if ((tg[done] & kTrackedTag) != 0) return stop(EINVAL);
    io_uring_sqe* sqe = GetSqe();
    if (sqe == nullptr) return stop(EBUSY);
    double o = of[done];
    io_uring_prep_rw(op[done], sqe, fd[done], data, ln[done], o < 0 ? ~0ULL : static_cast<uint64_t>(o));
    sqe->rw_flags = static_cast<int>(opf[done]);
    sqe->flags = sf[done];
    sqe->ioprio = pr[done];
    sqe->buf_index = (sf[done] & IOSQE_BUFFER_SELECT) != 0 ? bg[done] : static_cast<uint16_t>(idx < 0 ? 0 : idx);
    sqe->user_data = tg[done];
    ScheduleSubmit();
  }
  return Napi::Number::New(env, done);
}

Napi::Value Ring::Submit(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env(), state_);
  return Napi::Number::New(info.Env(), SubmitNow());
}

// takeAddress(tag) -> [port, host] of the peer a recvmsg/accept filled in.
Napi::Value Ring::TakeAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t idx = info[0].As<Napi::Number>().Uint32Value() & ~kTrackedTag;
  if (idx >= slots_.size() || !slots_[idx].extra) return env.Null();
  const sockaddr_in& sa = slots_[idx].extra->addr;
  char host[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, ntohs(sa.sin_port)));
  a.Set(1u, Napi::String::New(env, host));
  return a;
}
