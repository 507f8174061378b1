// The JS call of a wake-up (Ring, Epoll), made through V8 and Node's own MakeCallback. Per wake-up
// this saves ~600 user-space instructions over napi (callgrind): napi_open_handle_scope allocates
// its scope on the heap, and napi_make_callback adds a TryCatch and argument checks.
#pragma once
#include <napi.h>
#include <node.h>
#include <v8.h>

class LoopCallback {
 public:
  // From a JS call. `resource` (the wrapper object) is what async_hooks see, as with napi_async_init.
  LoopCallback(Napi::Object resource, const char* name);
  ~LoopCallback();
  LoopCallback(const LoopCallback&) = delete;
  LoopCallback& operator=(const LoopCallback&) = delete;

  v8::Isolate* Isolate() const { return isolate_; }
  // fn(n) with `recv` as this, from a libuv callback, inside the caller's v8::HandleScope. Like any
  // callback Node makes from its loop: microtasks and nextTicks run after it; an exception goes to
  // process 'uncaughtException'; a call refused at worker termination is ignored.
  void Call(napi_value recv, napi_value fn, int n);

 private:
  v8::Isolate* isolate_;
  node::Environment* env_;  // kept for the destroy hook, as napi's own async context does
  node::async_context context_;
};
