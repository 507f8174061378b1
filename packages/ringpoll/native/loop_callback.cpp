#include "loop_callback.hpp"

#include "backing_store.hpp"

LoopCallback::LoopCallback(Napi::Object resource, const char* name)
    : isolate_(v8::Isolate::GetCurrent()), env_(node::GetCurrentEnvironment(isolate_->GetCurrentContext())) {
  v8::HandleScope scope(isolate_);
  context_ = node::EmitAsyncInit(isolate_, V8Local(resource).As<v8::Object>(), name);
}

LoopCallback::~LoopCallback() { node::EmitAsyncDestroy(env_, context_); }

void LoopCallback::Call(napi_value recv, napi_value fn, int n) {
  v8::Local<v8::Value> argv[] = {v8::Integer::New(isolate_, n)};
  (void)node::MakeCallback(isolate_, V8Local(recv).As<v8::Object>(), V8Local(fn).As<v8::Function>(), 1, argv, context_);
}
