#include "epoll.hpp"

#include <unistd.h>

#include <cerrno>

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
  napi_add_async_cleanup_hook(env, EpollState::OnCleanup, state_, &state_->hook);
}

Epoll::~Epoll() {
  if (state_ != nullptr) state_->Release();
}

static void RequireOpen(Napi::Env env, EpollState* state) {
  if (state == nullptr) throw ErrnoError(env, EBADF, "epoll", "Epoll is closed");
}

// ctl(op, fd, events, data): EPOLL_CTL_ADD / MOD / DEL with a 32-bit user token.
Napi::Value Epoll::Ctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, state_);
  int op = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  epoll_event ev{};
  ev.events = info[2].As<Napi::Number>().Uint32Value();
  ev.data.u64 = info[3].As<Napi::Number>().Uint32Value();
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
  if (!asyncContext_) asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "ringpoll:Epoll");
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
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
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
  }
  calls_++;
  if (n > 0) eventsTotal_ += static_cast<uint64_t>(n);
  Napi::Function handler = onBatch_.Value();
  if (n < 0) StopWatching();  // an error ends the watch; lib/ reports it
  CallHandler(env, *asyncContext_, Value(), handler, n);
}
