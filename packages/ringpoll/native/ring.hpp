// Ring: owns one io_uring instance. SQEs queued during a loop iteration are submitted once, from a
// uv_prepare handle just before libuv polls; completions wake the loop through an eventfd registered
// with the ring (IOPOLL rings post no wake-up: a uv_idle handle polls them while requests are in
// flight). Every CQE found is copied into typed arrays shared with JS and handed over in one call.
#pragma once
#include <linux/time_types.h>
#include <napi.h>
#include <netinet/in.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "backing_store.hpp"
#include "credentials.hpp"
#include "loop_callback.hpp"
#include "ring_memory.hpp"
#include "uring_compat.hpp"

class Ring;
class BufferRing;
class FdRegistry;

// Tags with this bit set are requests lib/ tracks (Promises, multishot); native pins their memory.
constexpr uint32_t kTrackedTag = 0x80000000u;
// user_data of requests native code makes itself (close-time cancel); never shown to JS.
constexpr uint64_t kInternal = 1ULL << 32;

// Memory a tracked request may hand the kernel besides the JS buffer.
struct RequestExtra {
  sockaddr_in addr{};
  socklen_t addrLen = 0;
  msghdr msg{};
  iovec iov{};
  __kernel_timespec ts{};
  std::vector<iovec> iovs;  // a vectored send's buffers (ring_sendv.cpp)
  std::vector<Store> stores;  // and their memory
};

struct Slot {
  Napi::Reference<Napi::Value> pin;  // the JS buffer the kernel may read or write
  Store store;                       // its memory, even if JS transfers it away
  std::unique_ptr<RequestExtra> extra;
  bool active = false;
  uint64_t memory = 0;  // RingMemory bits: what else the request may use (a buffer group)
};

// Kernel-side resources, released once: by close(), the finalizer or the env cleanup hook.
struct RingState {
  Ring* owner = nullptr;
  io_uring ring{};
  int eventFd = -1;
  uint64_t eventValue = 0;  // where the ring reads the eventfd (RWF_NOWAIT: never left pending)
  uv_poll_t* poll = nullptr;
  uv_prepare_t* prepare = nullptr;
  uv_idle_t* idle = nullptr;
  int pendingHandles = 0;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool released = false;

  void Release(bool teardown = false);  // may delete this
  void Finish();
};

class Ring : public Napi::ObjectWrap<Ring> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new Ring(entries, flags, cqEntries, sqThreadIdle, sqThreadCpu, tags: Uint32Array, res: Int32Array,
  //          flags: Uint32Array)
  explicit Ring(const Napi::CallbackInfo& info);
  ~Ring() override;

  io_uring* Uring() { return state_ != nullptr ? &state_->ring : nullptr; }

 private:
  friend struct RingState;

  Napi::Value Params(const Napi::CallbackInfo& info);
  Napi::Value Prep(const Napi::CallbackInfo& info);
  Napi::Value PrepBatch(const Napi::CallbackInfo& info);
  Napi::Value PrepSendv(const Napi::CallbackInfo& info);
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value Reap(const Napi::CallbackInfo& info);
  Napi::Value TakeAddress(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  void SetRef(const Napi::CallbackInfo& info);
  Napi::Value RegisterBuffers(const Napi::CallbackInfo& info);
  Napi::Value UnregisterBuffers(const Napi::CallbackInfo& info);
  Napi::Value RegisterFiles(const Napi::CallbackInfo& info);
  Napi::Value UnregisterFiles(const Napi::CallbackInfo& info);
  Napi::Value CreateBufferRing(const Napi::CallbackInfo& info);
  Napi::Value Inflight(const Napi::CallbackInfo& info);
  Napi::Value Submits(const Napi::CallbackInfo& info);
  void Counters(const Napi::CallbackInfo& info);
  bool QueueEventfdRead();
  Napi::Value Close(const Napi::CallbackInfo& info);
  void AllowCredentialChange(const Napi::CallbackInfo& info);

  bool Open() const { return state_ != nullptr && !closing_; }
  bool Reserve(unsigned n);  // room for n SQEs in the SQ (submits when full); false if none came
  Slot* SlotFor(uint32_t tag);
  void ScheduleSubmit();
  int SubmitNow();
  // Copies CQEs into the JS arrays; returns count or -errno. `coalesce`: this is a wake-up, and
  // waiting (bounded) for more completions is allowed.
  int ReapInto(bool pollIopoll, bool coalesce = false);
  void Dispatch(bool wake = false);
  void EnterAndSubmit(unsigned waitNr);
  Napi::Value SetCoalesce(const Napi::CallbackInfo& info);
  void OwnFdResults(const Napi::CallbackInfo& info);
  void OwnFdResult(const io_uring_cqe* cqe);
  bool Overflowed();
  bool TaskrunPending();
  bool RecheckTaskrun(unsigned* rounds);
  int ConsumeAll();
  void UpdateIdle();
  void ReleaseSlot(uint32_t tag);
  void CancelAll();
  void Drain();           // blocking: only where JS cannot run any more (env teardown)
  void ReleaseMemory();   // every CQE is in: drop what the kernel could have used
  void FinishClose(bool fromJs);

  static void OnEventFd(uv_poll_t* handle, int status, int events);
  static void OnPrepare(uv_prepare_t* handle);
  static void OnIdle(uv_idle_t* handle);

  RingState* state_ = nullptr;
  unsigned setupFlags_ = 0;
  std::vector<Slot> slots_;
  RingMemory memory_;  // registered buffers and buffer rings, with their requests in flight
  CredentialCheck credentials_;  // prep refuses new requests (-EPERM) once the ids changed
  Napi::Reference<Napi::Uint32Array> tags_;
  Napi::Reference<Napi::Int32Array> res_;
  Napi::Reference<Napi::Uint32Array> flags_;
  uint32_t* tagsData_ = nullptr;
  int32_t* resData_ = nullptr;
  uint32_t* flagsData_ = nullptr;
  uint32_t capacity_ = 0;
  Napi::FunctionReference onCompletions_;
  std::unique_ptr<LoopCallback> callback_;
  v8::Isolate* isolate_ = nullptr;
  int64_t inflight_ = 0;  // SQEs handed to the kernel whose final CQE has not been reaped
  unsigned queued_ = 0;   // SQEs prepared but not yet submitted
  uint64_t submits_ = 0;
  // What wake-ups cost (IoUring.stats): JS calls, CQEs handed over, io_uring_enter calls,
  // eventfd reads, and wake-ups that found no CQE (no JS call).
  // wakeups: the event loop found the ring ready; rechecks: extra get-events rounds of a wake-up
  // (DEFER_TASKRUN: more work came while it ran).
  struct {
    uint64_t calls = 0, cqes = 0, enters = 0, eventfdReads = 0, emptyWakes = 0, wakeups = 0, rechecks = 0;
  } wake_;
  bool refed_ = true;
  bool dispatching_ = false;
  bool eventfdViaRing_ = true;
  unsigned coalesceMin_ = 0;     // 0: off; else wait for this many CQEs per wake-up…
  int64_t coalesceNs_ = 0;       // …for at most this long  // reset the eventfd with a READ in the get-events enter
  bool teardown_ = false;  // env cleanup: no JS calls (references are still deleted)
  bool closing_ = false;   // close() called: no new work; released when the last CQE is reaped
  Napi::FunctionReference onClosed_;
  // CQEs of this tag carry a new fd (a multishot accept): the env's FdRegistry owns it at once, so
  // one reaped but never seen by JS (a worker terminated meanwhile) is still closed.
  FdRegistry* fds_ = nullptr;
  uint32_t fdTag_ = 0;
  bool ownsFdResults_ = false;
};
