// Epoll: owns one epoll fd. Batches are delivered through the Node loop: libuv watches the epoll fd,
// and when it is readable one epoll_wait(..., 0) fills a buffer shared with JS and one JS call follows.
#pragma once
#include <napi.h>
#include <sys/epoll.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "loop_callback.hpp"
#include "mmsg.hpp"

class Epoll;

// Kernel-side resources, released exactly once: by close(), by the finalizer or by the
// environment's async cleanup hook (worker exit), whichever comes first.
struct EpollState {
  Epoll* owner = nullptr;
  int fd = -1;
  uv_poll_t* poll = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool released = false;

  void Release();  // may delete this
  void Finish();
  static void OnClosed(uv_handle_t* handle);
  static void OnCleanup(napi_async_cleanup_hook_handle handle, void* arg);
};

class Epoll : public Napi::ObjectWrap<Epoll> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new Epoll(maxEvents, events: Uint32Array, data: Uint32Array)
  explicit Epoll(const Napi::CallbackInfo& info);
  ~Epoll() override;

 private:
  friend struct EpollState;

  Napi::Value Ctl(const Napi::CallbackInfo& info);
  Napi::Value Wait(const Napi::CallbackInfo& info);
  void Start(const Napi::CallbackInfo& info);
  void Stop(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  void SetRef(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  void Counters(const Napi::CallbackInfo& info);
  void Receive(const Napi::CallbackInfo& info);

  // Receive mode: every wake-up reads the ready fds into one caller-owned DatagramBatch. Arrays
  // over SharedArrayBuffers (`pinned`: cannot be detached or moved) are looked up once; others
  // (a plain ArrayBuffer can be transferred away) on every wake-up.
  struct Receiving {
    Napi::Reference<Napi::Value> buffer, lengths, flags, addresses, shared;
    bool pinned = false;
    RecvTarget target;  // pinned: the memory, looked up once
    int32_t* received = nullptr;  // per event: datagrams, or -errno (a SharedArrayBuffer of lib/'s)
    int32_t* totals = nullptr;    // [datagrams, truncated, memory fault] (the same memory)
    MmsgScratch scratch;
  };
  void ReceiveReady(int n);
  bool Lookup(RecvTarget& t);

  int Collect(int n);  // split kernel events into the JS arrays; returns n or -errno
  void StopWatching();
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Dispatch(int status);

  EpollState* state_ = nullptr;
  std::vector<epoll_event> kernelEvents_;
  Napi::Reference<Napi::Uint32Array> events_;
  Napi::Reference<Napi::Uint32Array> data_;
  uint32_t* eventsData_ = nullptr;
  uint32_t* dataData_ = nullptr;
  Napi::FunctionReference onBatch_;
  std::unique_ptr<LoopCallback> callback_;
  std::unique_ptr<Receiving> receiving_;
  SysCounters* sysCounters_ = nullptr;
  // What one wake-up costs: JS calls, events handed over, epoll_wait calls made here, and
  // wake-ups that found nothing (no JS call).
  uint64_t calls_ = 0;
  uint64_t eventsTotal_ = 0;
  uint64_t waits_ = 0;
  uint64_t emptyWakes_ = 0;
  bool watching_ = false;
  bool refed_ = true;
};
