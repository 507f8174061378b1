#include "loop_callback.hpp"

#include <cstring>

namespace {

// A napi_value is the address of a V8 handle (Node's own v8impl::V8LocalValueFromJsValue).
v8::Local<v8::Value> Local(napi_value v) {
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void*>(&local), &v, sizeof v);
  return local;
}

}  // namespace

LoopCallback::LoopCallback(Napi::Object resource, const char* name)
    : isolate_(v8::Isolate::GetCurrent()), env_(node::GetCurrentEnvironment(isolate_->GetCurrentContext())) {
  v8::HandleScope scope(isolate_);
  context_ = node::EmitAsyncInit(isolate_, Local(resource).As<v8::Object>(), name);
}

LoopCallback::~LoopCallback() { node::EmitAsyncDestroy(env_, context_); }

void LoopCallback::Call(napi_value recv, napi_value fn, int n) {
  v8::Local<v8::Value> argv[] = {v8::Integer::New(isolate_, n)};
  (void)node::MakeCallback(isolate_, Local(recv).As<v8::Object>(), Local(fn).As<v8::Function>(), 1, argv, context_);
}
