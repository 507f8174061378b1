#include "ring.hpp"

#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "addon.hpp"
#include "buffer_ring.hpp"
#include "errors.hpp"

namespace {

// user_data of requests native code makes itself (close-time cancel); never shown to JS.
constexpr uint64_t kInternal = 1ULL << 32;

enum Extra : int { kNone = 0, kSockaddr = 1, kMsgSend = 2, kMsgRecv = 3, kTimespec = 4, kUserData = 5, kAccept = 6 };

template <typename H>
void CloseHandle(H* h, RingState* state) {
  if (h == nullptr) return;
  h->data = state;
  state->pendingHandles++;
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* handle) {
    auto* st = static_cast<RingState*>(handle->data);
    delete reinterpret_cast<H*>(handle);
    if (--st->pendingHandles == 0) st->Finish();
  });
}

}  // namespace

void RingState::Release(bool teardown) {
  if (released) return;
  released = true;
  if (owner != nullptr) {
    owner->teardown_ = teardown;
    owner->DrainAndRelease(false);
    owner->state_ = nullptr;
    owner = nullptr;
  }
  // uv_close takes the fds out of libuv's epoll at once; only then are they closed.
  CloseHandle(poll, this);
  CloseHandle(prepare, this);
  CloseHandle(idle, this);
  io_uring_queue_exit(&ring);
  if (eventFd >= 0) close(eventFd);
  eventFd = -1;
  if (pendingHandles == 0) Finish();
}

void RingState::Finish() {
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
  delete this;
}

Napi::Function Ring::Init(Napi::Env env) {
  return DefineClass(env, "Ring",
                     {
                         InstanceMethod<&Ring::Params>("params"),
                         InstanceMethod<&Ring::Prep>("prep"),
                         InstanceMethod<&Ring::PrepBatch>("prepBatch"),
                         InstanceMethod<&Ring::Submit>("submit"),
                         InstanceMethod<&Ring::Reap>("reap"),
                         InstanceMethod<&Ring::TakeAddress>("takeAddress"),
                         InstanceMethod<&Ring::Start>("start"),
                         InstanceMethod<&Ring::SetRef>("setRef"),
                         InstanceMethod<&Ring::RegisterBuffers>("registerBuffers"),
                         InstanceMethod<&Ring::UnregisterBuffers>("unregisterBuffers"),
                         InstanceMethod<&Ring::RegisterFiles>("registerFiles"),
                         InstanceMethod<&Ring::UnregisterFiles>("unregisterFiles"),
                         InstanceMethod<&Ring::CreateBufferRing>("createBufferRing"),
                         InstanceMethod<&Ring::Inflight>("inflight"),
                         InstanceMethod<&Ring::Submits>("submits"),
                         InstanceMethod<&Ring::Close>("close"),
                     });
}

Ring::Ring(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Ring>(info) {
  Napi::Env env = info.Env();
  unsigned entries = info[0].As<Napi::Number>().Uint32Value();
  io_uring_params p{};
  p.flags = info[1].As<Napi::Number>().Uint32Value();
  unsigned cqEntries = info[2].As<Napi::Number>().Uint32Value();
  if (cqEntries > 0) {
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = cqEntries;
  }
  p.sq_thread_idle = info[3].As<Napi::Number>().Uint32Value();
  int cpu = info[4].As<Napi::Number>().Int32Value();
  if (cpu >= 0) {
    p.flags |= IORING_SETUP_SQ_AFF;
    p.sq_thread_cpu = static_cast<unsigned>(cpu);
  }
  auto tags = info[5].As<Napi::Uint32Array>();
  auto res = info[6].As<Napi::Int32Array>();
  auto flags = info[7].As<Napi::Uint32Array>();
  capacity_ = static_cast<uint32_t>(std::min({tags.ElementLength(), res.ElementLength(), flags.ElementLength()}));
  if (capacity_ == 0) throw Napi::RangeError::New(env, "Ring: completion arrays are empty");

  auto* st = new RingState();
  int r = io_uring_queue_init_params(entries, &st->ring, &p);
  if (r < 0) {
    delete st;
    throw ErrnoError(env, -r, "io_uring_setup");
  }
  state_ = st;
  st->owner = this;
  setupFlags_ = p.flags;
  // lib/ backs these with SharedArrayBuffers, which cannot be detached: the pointers stay valid
  // while the references below keep them alive, so the hot path never asks V8 for them again.
  tags_ = Napi::Persistent(tags);
  res_ = Napi::Persistent(res);
  flags_ = Napi::Persistent(flags);
  tagsData_ = tags.Data();
  resData_ = res.Data();
  flagsData_ = flags.Data();

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  // The ring fd is readable while CQEs wait, so libuv can watch it directly (no eventfd to read
  // on every wake). DEFER_TASKRUN rings do not wake ring-fd pollers when work is queued, only a
  // registered eventfd: those get one.
  bool needEventFd = (p.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  st->eventFd = needEventFd ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
  if (needEventFd && (st->eventFd < 0 || io_uring_register_eventfd(&st->ring, st->eventFd) < 0)) {
    int err = errno;
    st->Release();
    state_ = nullptr;
    throw ErrnoError(env, err, "io_uring_register_eventfd");
  }
  st->poll = new uv_poll_t;
  uv_poll_init(loop, st->poll, needEventFd ? st->eventFd : st->ring.ring_fd);
  st->poll->data = st;
  uv_poll_start(st->poll, UV_READABLE, OnEventFd);
  uv_unref(reinterpret_cast<uv_handle_t*>(st->poll));  // ref'd only while requests are in flight
  st->prepare = new uv_prepare_t;
  uv_prepare_init(loop, st->prepare);
  st->prepare->data = st;
  uv_unref(reinterpret_cast<uv_handle_t*>(st->prepare));
  st->idle = new uv_idle_t;
  uv_idle_init(loop, st->idle);
  st->idle->data = st;
  napi_add_async_cleanup_hook(
      env, [](napi_async_cleanup_hook_handle, void* arg) { static_cast<RingState*>(arg)->Release(true); }, st,
      &st->hook);
}

Ring::~Ring() {
  if (state_ != nullptr) state_->Release();
}

static void RequireOpen(Napi::Env env, RingState* st) {
  if (st == nullptr) throw ErrnoError(env, EBADF, "io_uring", "IoUring is closed");
}

// params() -> [flags, features, sqEntries, cqEntries]
Napi::Value Ring::Params(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  io_uring& r = state_->ring;
  Napi::Array a = Napi::Array::New(env, 4);
  a.Set(0u, Napi::Number::New(env, r.flags));
  a.Set(1u, Napi::Number::New(env, r.features));
  a.Set(2u, Napi::Number::New(env, r.sq.ring_entries));
  a.Set(3u, Napi::Number::New(env, r.cq.ring_entries));
  return a;
}

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
  int r = io_uring_submit(&state_->ring);
  queued_ = io_uring_sq_ready(&state_->ring);
  if (queued_ == 0) uv_prepare_stop(state_->prepare);
  return r;
}

void Ring::OnPrepare(uv_prepare_t* handle) {
  auto* st = static_cast<RingState*>(handle->data);
  if (st->owner != nullptr) st->owner->SubmitNow();
}

void Ring::UpdateIdle() {
  if (state_ == nullptr) return;
  bool poll = (setupFlags_ & IORING_SETUP_IOPOLL) != 0 && inflight_ > 0;
  if (poll && !uv_is_active(reinterpret_cast<uv_handle_t*>(state_->idle))) {
    uv_idle_start(state_->idle, OnIdle);
  } else if (!poll && uv_is_active(reinterpret_cast<uv_handle_t*>(state_->idle))) {
    uv_idle_stop(state_->idle);
  }
}

void Ring::ReleaseSlot(uint32_t tag) {
  uint32_t idx = tag & ~kTrackedTag;
  if (idx < slots_.size()) {
    // At env teardown no napi call may run; the env frees its references itself.
    if (teardown_) slots_[idx].pin.SuppressDestruct(); else slots_[idx].pin.Reset();
    slots_[idx].active = false;
  }
}

int Ring::ReapInto(bool pollIopoll) {
  io_uring* ring = &state_->ring;
  // DEFER_TASKRUN: completions are posted only when this thread runs its task work.
  // IOPOLL: completions appear only when someone polls the device.
  // CQ overflow (more completions than CQ slots): the kernel keeps them until someone enters.
  if (pollIopoll || (setupFlags_ & IORING_SETUP_DEFER_TASKRUN) != 0 || Overflowed()) io_uring_get_events(ring);
  if (teardown_) return ConsumeAll();
  uint32_t* t = tagsData_;
  int32_t* rs = resData_;
  uint32_t* fl = flagsData_;
  unsigned head;
  unsigned seen = 0;
  uint32_t n = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring, head, cqe) {
    if (n == capacity_) break;
    seen++;
    bool final = (cqe->flags & IORING_CQE_F_MORE) == 0;
    if (final && --inflight_ == 0) {
      uv_unref(reinterpret_cast<uv_handle_t*>(state_->poll));
      if (!teardown_) {
        Unref();  // pairs with the Ref() when the first request went in flight
        if (!onCompletions_.IsEmpty()) onCompletions_.Unref();
        retiredBuffers_.clear();
      }
    }
    if (cqe->user_data & kInternal) continue;
    auto tag = static_cast<uint32_t>(cqe->user_data);
    if (final && (tag & kTrackedTag) != 0) ReleaseSlot(tag);
    t[n] = tag;
    rs[n] = cqe->res;
    fl[n] = cqe->flags;
    n++;
  }
  io_uring_cq_advance(ring, seen);
  return static_cast<int>(n);
}

// Teardown: account for every CQE without touching JS.
int Ring::ConsumeAll() {
  io_uring* ring = &state_->ring;
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring, head, cqe) {
    seen++;
    if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
      inflight_--;
      auto tag = static_cast<uint32_t>(cqe->user_data);
      if ((cqe->user_data & kInternal) == 0 && (tag & kTrackedTag) != 0) ReleaseSlot(tag);
    }
  }
  io_uring_cq_advance(ring, seen);
  return 0;
}

bool Ring::Overflowed() {
  return (IO_URING_READ_ONCE(*state_->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) != 0;
}

void Ring::Dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  Napi::Env env = Env();
  Napi::HandleScope outer(env);
  Napi::Object self = Value();  // stays reachable even if the last request's Unref() made us weak
  Napi::Value handler = onCompletions_.IsEmpty() ? env.Undefined() : onCompletions_.Value();
  for (;;) {
    Napi::HandleScope scope(env);
    int n = ReapInto((setupFlags_ & IORING_SETUP_IOPOLL) != 0);
    if (n <= 0 || !handler.IsFunction()) break;
    try {
      handler.As<Napi::Function>().MakeCallback(self, {Napi::Number::New(env, n)}, *asyncContext_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
    if (state_ == nullptr || (static_cast<uint32_t>(n) < capacity_ && !Overflowed())) break;
  }
  dispatching_ = false;
  if (state_ != nullptr) UpdateIdle();
}

void Ring::OnEventFd(uv_poll_t* handle, int, int) {
  auto* st = static_cast<RingState*>(handle->data);
  uint64_t v;
  while (st->eventFd >= 0 && read(st->eventFd, &v, sizeof v) < 0 && errno == EINTR) {
  }
  if (st->owner != nullptr) st->owner->Dispatch();
}

void Ring::OnIdle(uv_idle_t* handle) {
  auto* st = static_cast<RingState*>(handle->data);
  if (st->owner != nullptr) st->owner->Dispatch();
}

// prep(opcode, fd, buffer|null, bufOffset, len, off, opFlags, sqeFlags, ioprio, bufIndexOrGroup, tag,
//      extraKind, a, b) -> 0 or -errno. Memory the kernel uses stays pinned until the final CQE.
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

// reap() -> CQEs copied into the arrays now (for code that drives its own loop).
Napi::Value Ring::Reap(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env(), state_);
  int n = ReapInto((setupFlags_ & IORING_SETUP_IOPOLL) != 0);
  UpdateIdle();
  return Napi::Number::New(info.Env(), n);
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

void Ring::Start(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env(), state_);
  onCompletions_ = Napi::Weak(info[0].As<Napi::Function>());  // lib/ keeps the function alive
  if (inflight_ > 0) onCompletions_.Ref();
  if (!asyncContext_) asyncContext_ = std::make_unique<Napi::AsyncContext>(info.Env(), "ringpoll:IoUring");
}

void Ring::SetRef(const Napi::CallbackInfo& info) {
  refed_ = info[0].ToBoolean().Value();
  if (state_ == nullptr) return;
  auto* h = reinterpret_cast<uv_handle_t*>(state_->poll);
  if (refed_ && inflight_ > 0) uv_ref(h); else uv_unref(h);
}

// registerBuffers(buffers: Uint8Array[]) -> 0 or -errno; the buffers stay pinned until unregistered.
Napi::Value Ring::RegisterBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  auto arr = info[0].As<Napi::Array>();
  std::vector<iovec> iovecs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    auto b = arr.Get(i).As<Napi::Uint8Array>();
    iovecs[i].iov_base = b.Data();
    iovecs[i].iov_len = b.ByteLength();
  }
  int r = io_uring_register_buffers(&state_->ring, iovecs.data(), static_cast<unsigned>(iovecs.size()));
  if (r < 0) return Napi::Number::New(env, r);
  iovecs_ = std::move(iovecs);
  registeredBuffers_.clear();
  for (uint32_t i = 0; i < arr.Length(); i++) registeredBuffers_.push_back(Napi::Persistent(arr.Get(i)));
  return Napi::Number::New(env, 0);
}

Napi::Value Ring::UnregisterBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  int r = io_uring_unregister_buffers(&state_->ring);
  if (r < 0) return Napi::Number::New(env, r);
  iovecs_.clear();
  // Requests in flight (batch API ones hold no pin of their own) may still use the kernel's
  // pinned pages of these buffers: keep the memory until nothing is in flight.
  if (inflight_ > 0) {
    for (auto& b : registeredBuffers_) retiredBuffers_.push_back(std::move(b));
  }
  registeredBuffers_.clear();
  return Napi::Number::New(env, 0);
}

Napi::Value Ring::RegisterFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  auto fds = info[0].As<Napi::Int32Array>();
  int r = io_uring_register_files(&state_->ring, fds.Data(), static_cast<unsigned>(fds.ElementLength()));
  return Napi::Number::New(env, r);
}

Napi::Value Ring::UnregisterFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  return Napi::Number::New(env, io_uring_unregister_files(&state_->ring));
}

// createBufferRing(count, size, bgid, data: ArrayBuffer) -> BufferRing or -errno
Napi::Value Ring::CreateBufferRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  unsigned count = info[0].As<Napi::Number>().Uint32Value();
  unsigned size = info[1].As<Napi::Number>().Uint32Value();
  unsigned bgid = info[2].As<Napi::Number>().Uint32Value();
  auto data = info[3].As<Napi::ArrayBuffer>();
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768 || size == 0 ||
      data.ByteLength() < static_cast<size_t>(count) * size) {
    return Napi::Number::New(env, -EINVAL);
  }
  Napi::Object obj = Addon::Get(env).bufferRingCtor.New({});
  BufferRing* br = BufferRing::Unwrap(obj);
  int r = br->Setup(&state_->ring, count, size, bgid, data);
  if (r < 0) return Napi::Number::New(env, r);
  bufferRings_.emplace_back(Napi::Persistent(obj), br);
  return obj;
}

Napi::Value Ring::Inflight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(inflight_));
}

// submits() -> how many times queued SQEs were handed to the kernel (io_uring_submit calls)
Napi::Value Ring::Submits(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(submits_));
}

// Cancel everything in flight and wait for every CQE, so no memory the kernel may still write is
// released. With callJs, the CQEs are handed to JS (Promises reject with ECANCELED).
void Ring::DrainAndRelease(bool callJs) {
  std::optional<Napi::HandleScope> outer;
  if (!teardown_) outer.emplace(Env());
  RingState* st = state_;
  io_uring* ring = &st->ring;
  uv_prepare_stop(st->prepare);
  uv_idle_stop(st->idle);
  if (queued_ > 0) io_uring_submit(ring);
  queued_ = 0;
  if (inflight_ > 0) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (sqe != nullptr) {
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      sqe->user_data = kInternal;
      inflight_++;  // > 0 already: no Ref() to pair
      io_uring_submit(ring);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Napi::Env env = Env();
  while (inflight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{0, 50'000'000};
    int r = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    if (r < 0 && r != -ETIME && r != -EINTR) break;
    std::optional<Napi::HandleScope> scope;
    if (!teardown_) scope.emplace(env);
    int n = ReapInto(false);
    Napi::Value handler = callJs && !onCompletions_.IsEmpty() ? onCompletions_.Value() : Napi::Value();
    if (n > 0 && !handler.IsEmpty() && handler.IsFunction()) {
      try {
        handler.As<Napi::Function>().Call(Value(), {Napi::Number::New(env, n)});
      } catch (const Napi::Error& e) {
        napi_fatal_exception(env, e.Value());
      }
    }
  }
  if (inflight_ > 0) {
    // The kernel still owns some memory: keep it (leak) rather than free what it may write.
    for (auto& s : slots_) {
      if (s.active) s.pin.SuppressDestruct();
      if (s.active) (void)s.extra.release();
    }
    for (auto& b : registeredBuffers_) b.SuppressDestruct();
    for (auto& b : retiredBuffers_) b.SuppressDestruct();
    for (auto& [ref, br] : bufferRings_) ref.SuppressDestruct();
    registeredBuffers_.clear();
    retiredBuffers_.clear();
    bufferRings_.clear();
    slots_.clear();
    return;
  }
  for (auto& [ref, br] : bufferRings_) br->Detach(teardown_);
  if (teardown_) {
    for (auto& [ref, br] : bufferRings_) ref.SuppressDestruct();
    for (auto& b : registeredBuffers_) b.SuppressDestruct();
    for (auto& b : retiredBuffers_) b.SuppressDestruct();
    for (auto& s : slots_) s.pin.SuppressDestruct();
    tags_.SuppressDestruct();
    res_.SuppressDestruct();
    flags_.SuppressDestruct();
    onCompletions_.SuppressDestruct();
  }
  bufferRings_.clear();
  registeredBuffers_.clear();
  retiredBuffers_.clear();
  iovecs_.clear();
  slots_.clear();
}

Napi::Value Ring::Close(const Napi::CallbackInfo& info) {
  if (state_ == nullptr) return info.Env().Undefined();
  DrainAndRelease(true);
  RingState* st = state_;
  st->owner = nullptr;
  state_ = nullptr;
  st->Release();
  onCompletions_.Reset();
  return info.Env().Undefined();
}
