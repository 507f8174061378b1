// Ring: reaping CQEs into the JS arrays and handing each batch to JS (wake-ups, IOPOLL polling).
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <cerrno>

#include "errors.hpp"
#include "fd_registry.hpp"
#include "ring.hpp"

namespace {

constexpr uint64_t kEventfdRead = kInternal | 1;

void ReadEventfd(int fd) {
  uint64_t v;
  while (read(fd, &v, sizeof v) < 0 && errno == EINTR) {
  }
}

// Wakes the loop's watch of the eventfd, for completion work the kernel will not signal again.
void SignalEventfd(int fd) {
  uint64_t one = 1;
  while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

}  // namespace

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
    slots_[idx].pin.Reset();
    slots_[idx].store.reset();
    if (slots_[idx].extra) slots_[idx].extra->stores.clear();
    memory_.Release(slots_[idx].memory);
    slots_[idx].memory = 0;
    slots_[idx].active = false;
  }
}

// One io_uring_enter that submits what is queued (the eventfd read of this wake-up, requests),
// runs task work and, with waitNr > 0, waits up to coalesceNs_ for that many CQEs.
void Ring::EnterAndSubmit(unsigned waitNr) {
  io_uring* ring = &state_->ring;
  wake_.enters++;
  bool submitting = io_uring_sq_ready(ring) > 0;
  if (submitting) submits_++;
  if (waitNr > 0) {
    __kernel_timespec ts{coalesceNs_ / 1000000000, coalesceNs_ % 1000000000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(ring, &cqe, waitNr, &ts, nullptr);  // -ETIME: fewer came
  } else if (submitting) {
    io_uring_submit_and_get_events(ring);
  } else {
    io_uring_get_events(ring);
  }
  if (submitting) {
    queued_ = io_uring_sq_ready(ring);
    if (queued_ == 0) uv_prepare_stop(state_->prepare);
  }
}

int Ring::ReapInto(bool pollIopoll, bool coalesce) {
  io_uring* ring = &state_->ring;
  // DEFER_TASKRUN: completions are posted only when this thread runs its task work.
  // IOPOLL: completions appear only when someone polls the device.
  // CQ overflow (more completions than CQ slots): the kernel keeps them until someone enters.
  if (coalesce && coalesceMin_ > 1 && !teardown_ && io_uring_cq_ready(ring) < coalesceMin_) {
    EnterAndSubmit(coalesceMin_);
  } else if (pollIopoll || (setupFlags_ & IORING_SETUP_DEFER_TASKRUN) != 0 || Overflowed()) {
    EnterAndSubmit(0);
  }
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
    if (cqe->user_data == kEventfdRead) {  // only a failure posts one (CQE_SKIP_SUCCESS)
      if (cqe->res != -EAGAIN) {
        eventfdViaRing_ = false;  // this kernel cannot: read it directly from now on
        wake_.eventfdReads++;
        ReadEventfd(state_->eventFd);
      }
      continue;
    }
    bool final = (cqe->flags & IORING_CQE_F_MORE) == 0;
    if (final && --inflight_ == 0) {
      uv_unref(reinterpret_cast<uv_handle_t*>(state_->poll));
      if (!teardown_) {
        Unref();  // pairs with the Ref() when the first request went in flight
        if (!onCompletions_.IsEmpty()) onCompletions_.Unref();
      }
    }
    if (final) memory_.Release(cqe->user_data);
    if (cqe->user_data & kInternal) continue;
    auto tag = static_cast<uint32_t>(cqe->user_data);
    if (final && (tag & kTrackedTag) != 0) ReleaseSlot(tag);
    OwnFdResult(cqe);
    t[n] = tag;
    rs[n] = cqe->res;
    fl[n] = cqe->flags;
    n++;
  }
  io_uring_cq_advance(ring, seen);
  memory_.Sweep();
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
    if (cqe->user_data == kEventfdRead) continue;  // never counted in flight
    OwnFdResult(cqe);
    if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
      inflight_--;
      memory_.Release(cqe->user_data);
      auto tag = static_cast<uint32_t>(cqe->user_data);
      if ((cqe->user_data & kInternal) == 0 && (tag & kTrackedTag) != 0) ReleaseSlot(tag);
    }
  }
  io_uring_cq_advance(ring, seen);
  return 0;
}

void Ring::OwnFdResult(const io_uring_cqe* cqe) {
  // the upper half holds RingMemory bits or kInternal, the tag is the lower half
  if (ownsFdResults_ && (cqe->user_data & kInternal) == 0 && static_cast<uint32_t>(cqe->user_data) == fdTag_ &&
      cqe->res >= 0) {
    fds_->Own(cqe->res);
  }
}

// ownFdResults(tag): CQEs with this (untracked) tag and res >= 0 carry a new fd the env owns.
void Ring::OwnFdResults(const Napi::CallbackInfo& info) {
  fdTag_ = info[0].As<Napi::Number>().Uint32Value();
  ownsFdResults_ = true;
}

bool Ring::Overflowed() {
  return (IO_URING_READ_ONCE(*state_->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) != 0;
}

// Work for another round: with DEFER_TASKRUN and TASKRUN_FLAG the kernel sets IORING_SQ_TASKRUN
// when completion work is queued for this thread; CQEs may also be posted at once (a submit from
// the JS handler, e.g. a cancel). Either one signals the eventfd, unless IORING_CQ_EVENTFD_DISABLED.
bool Ring::TaskrunPending() {
  return (IO_URING_READ_ONCE(*state_->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0 ||
         io_uring_cq_ready(&state_->ring) > 0;
}

// Work queued while this wake-up ran is reaped in the same wake-up: one io_uring_enter instead of
// a libuv wake (epoll_wait + enter). The eventfd stays disabled meanwhile, so those additions do
// not wake the loop again for nothing. Returns true to run another round. Bounded, so other
// handles get their turn: past the bound, pending work is signalled through the eventfd (the
// kernel signals only when its work list goes from empty to not empty).
bool Ring::RecheckTaskrun(unsigned* rounds) {
  constexpr unsigned kMaxRounds = 8;
  io_uring* ring = &state_->ring;
  if (TaskrunPending() && *rounds < kMaxRounds) {
    ++*rounds;
    wake_.rechecks++;
    return true;
  }
  io_uring_cq_eventfd_toggle(ring, true);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the kernel's atomic_or of SQ_TASKRUN
  if (!TaskrunPending()) return false;
  if (*rounds < kMaxRounds) {
    io_uring_cq_eventfd_toggle(ring, false);
    ++*rounds;
    wake_.rechecks++;
    return true;
  }
  SignalEventfd(state_->eventFd);
  return false;
}

void Ring::Dispatch(bool wake) {
  if (dispatching_) return;
  dispatching_ = true;
  v8::HandleScope outer(isolate_);
  Napi::Object self = Value();  // stays reachable even if the last request's Unref() made us weak
  // Set from a Function by start(); empty when none was set or it was collected.
  Napi::Value handler = onCompletions_.IsEmpty() ? Napi::Value() : onCompletions_.Value();
  const bool callable = !handler.IsEmpty() && callback_;
  // Not while coalescing: each wake-up then waits to fill its batch, and a recheck would deliver
  // what came during the JS call at once, in small batches.
  const bool flagged = (setupFlags_ & IORING_SETUP_DEFER_TASKRUN) != 0 && (setupFlags_ & IORING_SETUP_TASKRUN_FLAG) != 0 &&
                       state_->eventFd >= 0 && !teardown_;
  const bool recheck = flagged && coalesceMin_ == 0;
  if (recheck) io_uring_cq_eventfd_toggle(&state_->ring, false);
  unsigned rounds = 0;
  for (bool first = true;; first = false) {
    // Later rounds get their own scope (the first uses the outer one: one scope less per wake-up).
    std::optional<v8::HandleScope> scope;
    if (!first) scope.emplace(isolate_);
    int n = ReapInto((setupFlags_ & IORING_SETUP_IOPOLL) != 0, wake && first);
    if (n <= 0 && first) wake_.emptyWakes++;
    if (n > 0 && callable) {
      wake_.calls++;
      wake_.cqes += static_cast<uint64_t>(n);
      callback_->Call(self, handler, n);
      if (state_ != nullptr) memory_.FlushRecycles();
    }
    if (state_ == nullptr || teardown_) break;
    if (n > 0 && callable && (static_cast<uint32_t>(n) == capacity_ || Overflowed())) continue;
    if (!recheck || !RecheckTaskrun(&rounds)) break;
  }
  dispatching_ = false;
  if (state_ == nullptr) return;
  // Coalescing (no rechecks): a get-events enter runs a bounded amount of completion work; what
  // it left is flagged but not signalled again (the kernel signals when its list goes from empty
  // to not empty), and with no new traffic (request/response) it would wait for ever.
  if (flagged && !recheck && !teardown_ && TaskrunPending()) SignalEventfd(state_->eventFd);
  if (closing_ && inflight_ == 0) {
    FinishClose(false);
    return;
  }
  UpdateIdle();
}

void Ring::OnEventFd(uv_poll_t* handle, int, int) {
  auto* st = static_cast<RingState*>(handle->data);
  Ring* self = st->owner;
  if (st->eventFd >= 0 && (self == nullptr || !self->QueueEventfdRead())) {
    if (self != nullptr) self->wake_.eventfdReads++;
    ReadEventfd(st->eventFd);
  }
  if (self != nullptr) {
    self->wake_.wakeups++;
    self->Dispatch(true);
  }
}

// The eventfd must be reset or libuv (level-triggered) reports it again. A READ queued here goes
// into Dispatch's get-events enter, ahead of the task work that enter runs: one syscall instead of
// two, and a signal raised by work added after the read still wakes the loop. RWF_NOWAIT: if the
// counter is already 0 the read fails at once instead of waiting for the next signal.
// CQE_SKIP_SUCCESS: a posted CQE would itself signal the eventfd and wake the loop again.
bool Ring::QueueEventfdRead() {
  if (!eventfdViaRing_ || dispatching_) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(&state_->ring);
  if (sqe == nullptr) return false;
  io_uring_prep_read(sqe, state_->eventFd, &state_->eventValue, sizeof state_->eventValue, 0);
  sqe->rw_flags = RWF_NOWAIT;
  sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
  sqe->user_data = kEventfdRead;  // not counted in flight: it never waits
  return true;
}

void Ring::OnIdle(uv_idle_t* handle) {
  auto* st = static_cast<RingState*>(handle->data);
  if (st->owner != nullptr) st->owner->Dispatch();
}

// prep(opcode, fd, buffer|null, bufOffset, len, off, opFlags, sqeFlags, ioprio, bufIndexOrGroup, tag,

// reap() -> CQEs copied into the arrays now (for code that drives its own loop).
Napi::Value Ring::Reap(const Napi::CallbackInfo& info) {
  if (!Open()) return Napi::Number::New(info.Env(), -EBADF);
  int n = ReapInto((setupFlags_ & IORING_SETUP_IOPOLL) != 0);
  UpdateIdle();
  return Napi::Number::New(info.Env(), n);
}

// counters(out: Float64Array(8)): submits, JS calls, CQEs handed to JS, io_uring_enter calls,
// eventfd reads, wake-ups with no CQE, wake-ups, recheck rounds.
void Ring::Counters(const Napi::CallbackInfo& info) {
  auto out = info[0].As<Napi::Float64Array>();
  double v[] = {static_cast<double>(submits_),           static_cast<double>(wake_.calls),
                static_cast<double>(wake_.cqes),         static_cast<double>(wake_.enters),
                static_cast<double>(wake_.eventfdReads), static_cast<double>(wake_.emptyWakes),
                static_cast<double>(wake_.wakeups),      static_cast<double>(wake_.rechecks)};
  for (size_t i = 0; i < 8 && i < out.ElementLength(); i++) out[i] = v[i];
}

// setCoalesce(minBatch, maxWaitUs) -> 0 or -errno. minBatch 0 or 1: off. The wait uses the
// timeout argument of io_uring_enter (IORING_FEAT_EXT_ARG, 5.11): without it liburing would queue a
// timeout SQE of its own.
Napi::Value Ring::SetCoalesce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  unsigned minBatch = info[0].As<Napi::Number>().Uint32Value();
  double us = info[1].As<Napi::Number>().DoubleValue();
  if (minBatch > 1 && (state_->ring.features & IORING_FEAT_EXT_ARG) == 0) return Napi::Number::New(env, -EOPNOTSUPP);
  coalesceMin_ = minBatch > 1 ? std::min(minBatch, capacity_) : 0;
  coalesceNs_ = static_cast<int64_t>(us * 1000);
  return Napi::Number::New(env, 0);
}
