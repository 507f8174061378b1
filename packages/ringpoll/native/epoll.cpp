#include "epoll.hpp"

#include <unistd.h>

#include <cerrno>

#include "addon.hpp"
#include "errors.hpp"

void EpollState::Release() {
  if (released) return;
  released = true;
  if (owner != nullptr) {
    owner->state_ = nullptr;
    owner = nullptr;
  }
  // uv_close detaches the handle from libuv's own epoll before the fd is closed.
  if (poll != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(poll), OnClosed);
  if (fd >= 0) close(fd);
  fd = -1;
  if (poll == nullptr) Finish();
}

void EpollState::Finish() {
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
  delete this;
}

void EpollState::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<EpollState*>(handle->data);
  delete reinterpret_cast<uv_poll_t*>(handle);
  self->Finish();
}

// Worker exit or process teardown: release before the loop closes (uv handles must be closed).
void EpollState::OnCleanup(napi_async_cleanup_hook_handle, void* arg) {
  static_cast<EpollState*>(arg)->Release();
}

Napi::Function Epoll::Init(Napi::Env env) {
  return DefineClass(env, "Epoll",
                     {
                         InstanceMethod<&Epoll::Ctl>("ctl"),
                         InstanceMethod<&Epoll::Wait>("wait"),
                         InstanceMethod<&Epoll::Start>("start"),
                         InstanceMethod<&Epoll::Stop>("stop"),
                         InstanceMethod<&Epoll::Close>("close"),
                         InstanceMethod<&Epoll::SetRef>("setRef"),
                         InstanceMethod<&Epoll::Counters>("counters"),
                         InstanceMethod<&Epoll::Receive>("receive"),
                         InstanceAccessor<&Epoll::GetFd>("fd"),
                     });
}

Epoll::Epoll(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Epoll>(info) {
  Napi::Env env = info.Env();
  uint32_t maxEvents = info[0].As<Napi::Number>().Uint32Value();
  auto events = info[1].As<Napi::Uint32Array>();
  auto data = info[2].As<Napi::Uint32Array>();
  if (maxEvents == 0 || events.ElementLength() < maxEvents || data.ElementLength() < maxEvents) {
    throw Napi::RangeError::New(env, "Epoll: batch arrays shorter than maxEvents");
  }
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, errno, "epoll_create1");
  kernelEvents_.resize(maxEvents);
  // lib/ backs these with SharedArrayBuffers, which cannot be detached: the pointers stay valid
  // while the references keep them alive, so delivering a batch never asks V8 for them again.
  events_ = Napi::Persistent(events);
  data_ = Napi::Persistent(data);
  eventsData_ = events.Data();
  dataData_ = data.Data();
  state_ = new EpollState();
  state_->owner = this;
  state_->fd = fd;
  sysCounters_ = &Addon::Get(env).counters;
  napi_add_async_cleanup_hook(env, EpollState::OnCleanup, state_, &state_->hook);
}

Epoll::~Epoll() {
  if (state_ != nullptr) state_->Release();
}

static void RequireOpen(Napi::Env env, EpollState* state) {
  if (state == nullptr) throw ErrnoError(env, EBADF, "epoll", "Epoll is closed");
}

// ctl(op, fd, events, data): EPOLL_CTL_ADD / MOD / DEL with a 32-bit user token. The kernel keeps
// the fd beside the token (upper half), for receive mode.
Napi::Value Epoll::Ctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  int op = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  epoll_event ev{};
  ev.events = info[2].As<Napi::Number>().Uint32Value();
  ev.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32) | info[3].As<Napi::Number>().Uint32Value();
  if (epoll_ctl(state_->fd, op, fd, &ev) < 0) throw ErrnoError(env, errno, "epoll_ctl");
  return env.Undefined();
}

int Epoll::Collect(int n) {
  if (n <= 0) return n;
  uint32_t* e = eventsData_;
  uint32_t* d = dataData_;
  for (int i = 0; i < n; i++) {
    e[i] = kernelEvents_[i].events;
    d[i] = static_cast<uint32_t>(kernelEvents_[i].data.u64);
  }
  return n;
}

// wait(timeoutMs) -> number of events written to the batch arrays.
Napi::Value Epoll::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  int timeout = info[0].As<Napi::Number>().Int32Value();
  int n;
  do {
    waits_++;
    n = epoll_wait(state_->fd, kernelEvents_.data(), static_cast<int>(kernelEvents_.size()), timeout);
  } while (n < 0 && errno == EINTR && timeout == 0);
  if (n < 0) throw ErrnoError(env, errno, "epoll_wait");
  n = Collect(n);
  if (n < 0) throw ErrnoError(env, -n, "epoll_wait", "batch buffer was detached");
  return Napi::Number::New(env, n);
}

// start(onBatch): onBatch(n) is called once per batch (n < 0: -errno).
void Epoll::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
  if (!callback_) callback_ = std::make_unique<LoopCallback>(info.This().As<Napi::Object>(), "ringpoll:Epoll");
  if (state_->poll == nullptr) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    auto* poll = new uv_poll_t;
    int r = uv_poll_init(loop, poll, state_->fd);
    if (r < 0) {
      delete poll;
      throw ErrnoError(env, -r, "uv_poll_init");
    }
    poll->data = state_;
    state_->poll = poll;
    if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(poll));
  }
  int r = uv_poll_start(state_->poll, UV_READABLE, OnReadable);
  if (r < 0) throw ErrnoError(env, -r, "uv_poll_start");
  if (!watching_) {
    watching_ = true;
    Ref();  // a watching Epoll stays alive while the loop can call it
  }
}

void Epoll::StopWatching() {
  if (state_ != nullptr && state_->poll != nullptr) uv_poll_stop(state_->poll);
  if (watching_) {
    watching_ = false;
    Unref();
  }
}

void Epoll::Stop(const Napi::CallbackInfo& info) {
  RequireOpen(info.Env(), state_);
  StopWatching();
  // The handler refers back to the Epoll: holding it while not watching would keep both alive.
  onBatch_.Reset();
}

void Epoll::Close(const Napi::CallbackInfo&) {
  StopWatching();
  if (state_ != nullptr) state_->Release();
  onBatch_.Reset();
}

void Epoll::SetRef(const Napi::CallbackInfo& info) {
  refed_ = info[0].ToBoolean().Value();
  if (state_ != nullptr && state_->poll != nullptr) {
    auto* h = reinterpret_cast<uv_handle_t*>(state_->poll);
    if (refed_) uv_ref(h); else uv_unref(h);
  }
}

// counters(out: Float64Array(4)): JS calls, events delivered, epoll_wait calls, empty wake-ups.
void Epoll::Counters(const Napi::CallbackInfo& info) {
  auto out = info[0].As<Napi::Float64Array>();
  double v[] = {static_cast<double>(calls_), static_cast<double>(eventsTotal_), static_cast<double>(waits_),
                static_cast<double>(emptyWakes_)};
  for (size_t i = 0; i < 4 && i < out.ElementLength(); i++) out[i] = v[i];
}

Napi::Value Epoll::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), state_ != nullptr ? state_->fd : -1);
}

void Epoll::OnReadable(uv_poll_t* handle, int status, int) {
  auto* state = static_cast<EpollState*>(handle->data);
  if (state->owner != nullptr) state->owner->Dispatch(status);
}

void Epoll::Dispatch(int status) {
  v8::HandleScope scope(callback_->Isolate());
  int n = status;
  if (status == 0) {
    waits_++;
    n = epoll_wait(state_->fd, kernelEvents_.data(), static_cast<int>(kernelEvents_.size()), 0);
    if (n < 0) n = errno == EINTR ? 0 : -errno;
    n = Collect(n);
    if (n == 0) {
      emptyWakes_++;
      return;
    }
    if (n > 0 && receiving_) ReceiveReady(n);
  }
  calls_++;
  if (n > 0) eventsTotal_ += static_cast<uint64_t>(n);
  Napi::Function handler = onBatch_.Value();
  if (n < 0) StopWatching();  // an error ends the watch; lib/ reports it
  callback_->Call(Value(), handler, n);
}

namespace {

// The memory of a typed array held by `ref` and its length in elements; null when detached.
template <typename T>
T* HeldData(Napi::Env env, const Napi::Reference<Napi::Value>& ref, size_t* length) {
  void* data = nullptr;
  *length = 0;
  if (ref.IsEmpty()) return nullptr;
  napi_value v = ref.Value();
  if (napi_get_typedarray_info(env, v, nullptr, length, &data, nullptr, nullptr) != napi_ok) return nullptr;
  return *length > 0 ? static_cast<T*>(data) : nullptr;
}

}  // namespace

// receive(buffer, slotSize, count, lengths, flags, addresses|null, shared: Int32Array(maxEvents + 3),
// pinned) turns receive mode on (lib/ checked every argument); receive(null) turns it off.
void Epoll::Receive(const Napi::CallbackInfo& info) {
  if (info[0].IsNull()) {
    receiving_.reset();
    return;
  }
  auto r = std::make_unique<Receiving>();
  r->buffer = Napi::Persistent(info[0]);
  r->target.slot = info[1].As<Napi::Number>().Uint32Value();
  r->target.count = info[2].As<Napi::Number>().Uint32Value();
  r->lengths = Napi::Persistent(info[3]);
  r->flags = Napi::Persistent(info[4]);
  if (info[5].IsTypedArray()) r->addresses = Napi::Persistent(info[5]);
  auto shared = info[6].As<Napi::Int32Array>();
  r->shared = Napi::Persistent(info[6]);
  r->received = shared.Data();
  r->totals = shared.Data() + kernelEvents_.size();
  r->pinned = info[7].ToBoolean().Value();
  receiving_ = std::move(r);
  if (receiving_->pinned) receiving_->pinned = Lookup(receiving_->target);
}

// The batch's memory now, in `t`; false when an array lost it (transferred) or is too short.
bool Epoll::Lookup(RecvTarget& t) {
  Napi::Env env = Env();
  Receiving& r = *receiving_;
  size_t bufLen, lenLen, flagLen, addrLen = 0;
  t.buf = HeldData<uint8_t>(env, r.buffer, &bufLen);
  t.lengths = HeldData<uint32_t>(env, r.lengths, &lenLen);
  t.flags = HeldData<uint32_t>(env, r.flags, &flagLen);
  t.addrs = nullptr;
  bool ok = t.buf != nullptr && bufLen >= t.count * t.slot && t.lengths != nullptr && lenLen >= t.count &&
            t.flags != nullptr && flagLen >= t.count;
  if (!r.addresses.IsEmpty()) {
    t.addrs = HeldData<uint32_t>(env, r.addresses, &addrLen);
    ok = ok && t.addrs != nullptr && addrLen >= 2 * t.count;
  }
  return ok;
}

// Receive mode: recvmmsg on each ready fd (EPOLLIN, or EPOLLERR: the call reports the socket's
// error) into the next free slots, one call per fd: a short count means it ran dry; a full batch
// leaves the rest ready for the next wake-up (level-triggered).
void Epoll::ReceiveReady(int n) {
  Receiving& r = *receiving_;
  RecvTarget t = r.target;
  bool ok = r.pinned || Lookup(t);
  size_t used = 0;
  uint32_t truncated = 0;
  for (int i = 0; i < n; i++) {
    int32_t got = 0;
    if (!ok) {
      got = -EFAULT;
    } else if ((kernelEvents_[i].events & (EPOLLIN | EPOLLERR)) != 0 && used < t.count) {
      int fd = static_cast<int>(kernelEvents_[i].data.u64 >> 32);
      got = RecvInto(r.scratch, *sysCounters_, fd, t, used, &truncated);
      if (got == -EAGAIN) got = 0;
      if (got > 0) used += static_cast<size_t>(got);
    }
    r.received[i] = got;
  }
  r.totals[0] = static_cast<int32_t>(used);
  r.totals[1] = static_cast<int32_t>(truncated);
  r.totals[2] = ok ? 0 : 1;
}
