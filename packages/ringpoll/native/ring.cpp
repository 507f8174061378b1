// Ring: lifecycle (setup, close with cancel-and-drain, release of kernel resources).
#include "ring.hpp"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>

#include "addon.hpp"
#include "buffer_ring.hpp"
#include "errors.hpp"
#include "ring_batch_rules.hpp"

namespace {

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
    owner->Drain();
    owner->ReleaseMemory();
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

// Ring.batchRules = { ops: { [opcode]: rules }, rule: { data, fixed, select, position, lenValue },
// sqeFlags: allowed IOSQE_* mask } — ring_batch_rules.hpp, for lib/ to check the same list.
static Napi::Object BatchRules(Napi::Env env) {
  namespace br = batch_rules;
  Napi::Object ops = Napi::Object::New(env);
  for (const br::Op& op : br::kOps) ops.Set(Napi::Number::New(env, op.opcode), Napi::Number::New(env, op.rules));
  Napi::Object rule = Napi::Object::New(env);
  rule.Set("data", Napi::Number::New(env, br::kData));
  rule.Set("fixed", Napi::Number::New(env, br::kFixed));
  rule.Set("select", Napi::Number::New(env, br::kSelect));
  rule.Set("position", Napi::Number::New(env, br::kPosition));
  rule.Set("lenValue", Napi::Number::New(env, br::kLenValue));
  Napi::Object o = Napi::Object::New(env);
  o.Set("ops", ops);
  o.Set("rule", rule);
  o.Set("sqeFlags", Napi::Number::New(env, br::kSqeFlags));
  o.Set("maxPosition", Napi::Number::New(env, br::kMaxPosition));
  return o;
}

Napi::Function Ring::Init(Napi::Env env) {
  return DefineClass(env, "Ring",
                     {
                         StaticValue("batchRules", BatchRules(env), napi_enumerable),
                         InstanceMethod<&Ring::Params>("params"),
                         InstanceMethod<&Ring::Prep>("prep"),
                         InstanceMethod<&Ring::PrepBatch>("prepBatch"),
                         InstanceMethod<&Ring::PrepSendv>("prepSendv"),
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
                         InstanceMethod<&Ring::Counters>("counters"),
                         InstanceMethod<&Ring::SetCoalesce>("setCoalesce"),
                         InstanceMethod<&Ring::OwnFdResults>("ownFdResults"),
                         InstanceMethod<&Ring::Close>("close"),
                         InstanceMethod<&Ring::AllowCredentialChange>("allowCredentialChange"),
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
  if (capacity_ == 0) throw ErrnoError(env, EINVAL, "io_uring_setup", "completion arrays are empty");

  auto* st = new RingState();
  int r = io_uring_queue_init_params(entries, &st->ring, &p);
  if (r < 0) {
    delete st;
    throw ErrnoError(env, -r, "io_uring_setup");
  }
  state_ = st;
  st->owner = this;
  isolate_ = v8::Isolate::GetCurrent();
  fds_ = &Addon::Get(env).fds;
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
  if (needEventFd) {
    // No handle or hook exists yet: undo by hand (liburing returns -errno and need not set errno).
    st->eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    const char* syscall = st->eventFd < 0 ? "eventfd" : "io_uring_register_eventfd";
    int err = st->eventFd < 0 ? errno : -io_uring_register_eventfd(&st->ring, st->eventFd);
    if (err > 0) {
      if (st->eventFd >= 0) close(st->eventFd);
      io_uring_queue_exit(&st->ring);
      delete st;
      state_ = nullptr;
      throw ErrnoError(env, err, syscall);
    }
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

// allowCredentialChange(): the caller accepts that the ring keeps acting with the ids it was made with.
void Ring::AllowCredentialChange(const Napi::CallbackInfo&) { credentials_.Allow(); }

// params() -> [flags, features, sqEntries, cqEntries], or -EBADF
Napi::Value Ring::Params(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_ == nullptr) return Napi::Number::New(env, -EBADF);
  io_uring& r = state_->ring;
  Napi::Array a = Napi::Array::New(env, 4);
  a.Set(0u, Napi::Number::New(env, r.flags));
  a.Set(1u, Napi::Number::New(env, r.features));
  a.Set(2u, Napi::Number::New(env, r.sq.ring_entries));
  a.Set(3u, Napi::Number::New(env, r.cq.ring_entries));
  return a;
}

// start(onCompletions) -> 0 or -EBADF
Napi::Value Ring::Start(const Napi::CallbackInfo& info) {
  if (!Open()) return Napi::Number::New(info.Env(), -EBADF);
  onCompletions_ = Napi::Weak(info[0].As<Napi::Function>());  // lib/ keeps the function alive
  if (inflight_ > 0) onCompletions_.Ref();
  if (!callback_) callback_ = std::make_unique<LoopCallback>(info.This().As<Napi::Object>(), "ringpoll:IoUring");
  return Napi::Number::New(info.Env(), 0);
}

void Ring::SetRef(const Napi::CallbackInfo& info) {
  refed_ = info[0].ToBoolean().Value();
  if (state_ == nullptr) return;
  auto* h = reinterpret_cast<uv_handle_t*>(state_->poll);
  if (refed_ && inflight_ > 0) uv_ref(h); else uv_unref(h);
}

Napi::Value Ring::Inflight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(inflight_));
}

// submits() -> how many times queued SQEs were handed to the kernel (io_uring_submit calls)
Napi::Value Ring::Submits(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(submits_));
}

// Hands the kernel a cancellation of everything in flight (after whatever is still queued).
void Ring::CancelAll() {
  io_uring* ring = &state_->ring;
  if (queued_ > 0) SubmitNow();
  if (inflight_ == 0 || !Reserve(1)) return;
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  sqe->user_data = kInternal;
  inflight_++;  // > 0 already: no Ref() to pair
  SubmitNow();
}

// Blocking drain, for env teardown only (no JS can run): cancel everything and wait for every CQE,
// so no memory the kernel may still write is released.
void Ring::Drain() {
  RingState* st = state_;
  io_uring* ring = &st->ring;
  if (st->prepare != nullptr) uv_prepare_stop(st->prepare);
  if (st->idle != nullptr) uv_idle_stop(st->idle);
  CancelAll();
  std::optional<Napi::HandleScope> outer;
  if (!teardown_) outer.emplace(Env());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (inflight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{0, 50'000'000};
    int r = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    if (r < 0 && r != -ETIME && r != -EINTR) break;
    std::optional<Napi::HandleScope> scope;
    if (!teardown_) scope.emplace(Env());
    ReapInto(false);
  }
}

// Every CQE is in (or, after a failed drain, some never will be): release what the kernel used.
// At env teardown too the references are deleted here: napi_env does not free references it did
// not create (LeakSanitizer showed each one lost per ring open at exit or worker termination).
void Ring::ReleaseMemory() {
  if (teardown_) onClosed_.Reset();
  if (inflight_ > 0) {
    // The kernel still owns some memory: keep it (leak) rather than free what it may write.
    for (auto& s : slots_) {
      if (!s.active) continue;
      s.pin.SuppressDestruct();
      (void)s.extra.release();
      (void)new Store(std::move(s.store));
    }
    memory_.Abandon();
    slots_.clear();
    return;
  }
  memory_.Clear();
  if (teardown_) {
    tags_.Reset();
    res_.Reset();
    flags_.Reset();
    onCompletions_.Reset();
  }
  slots_.clear();
}

// The last CQE of a closing ring was reaped: release everything, then tell lib/.
void Ring::FinishClose(bool fromJs) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  ReleaseMemory();
  RingState* st = state_;
  st->owner = nullptr;
  state_ = nullptr;
  st->Release();
  onCompletions_.Reset();
  if (onClosed_.IsEmpty()) return;
  Napi::Function done = onClosed_.Value();
  onClosed_.Reset();
  if (fromJs || !callback_) {
    done.Call({});
  } else {
    // Like the completion handlers: in a worker being terminated the call is refused with no
    // exception object, which node-addon-api's MakeCallback would abort on.
    callback_->Call(Value(), done, 0);
  }
}

// close(onClosed) -> undefined. Returns at once: everything in flight is cancelled, and the ring and
// every buffer it pinned are released when the last CQE has been reaped (the CQEs still reach JS,
// so Promises settle as the kernel reports). Then onClosed() runs. A second call does nothing.
Napi::Value Ring::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return env.Undefined();
  closing_ = true;
  if (info[0].IsFunction()) onClosed_ = Napi::Persistent(info[0].As<Napi::Function>());
  CancelAll();
  // SQPOLL: the SQ thread looks fds up when it consumes an SQE. Wait (bounded) until it consumed
  // them all, so an fd closed after close() returns, and reused, is never the one a request gets.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while ((setupFlags_ & IORING_SETUP_SQPOLL) != 0 && io_uring_sq_ready(&state_->ring) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    SubmitNow();  // wakes the SQ thread if it sleeps
    sched_yield();
  }
  if (inflight_ == 0) {
    FinishClose(true);
  } else {
    UpdateIdle();  // IOPOLL completions still need polling
  }
  return env.Undefined();
}
