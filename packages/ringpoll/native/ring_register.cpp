// Ring: registered buffers, files and provided buffer rings.
#include <cerrno>

#include "ring.hpp"

// registerBuffers(buffers: Uint8Array[]) -> 0 or -errno; pinned until unregistered and no request
// using them is in flight (RingMemory).
Napi::Value Ring::RegisterBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  return Napi::Number::New(env, memory_.Register(&state_->ring, info[0].As<Napi::Array>()));
}

Napi::Value Ring::UnregisterBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  return Napi::Number::New(env, memory_.Unregister(&state_->ring));
}

Napi::Value Ring::RegisterFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  auto fds = info[0].As<Napi::Int32Array>();
  int r = io_uring_register_files(&state_->ring, fds.Data(), static_cast<unsigned>(fds.ElementLength()));
  return Napi::Number::New(env, r);
}

Napi::Value Ring::UnregisterFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  return Napi::Number::New(env, io_uring_unregister_files(&state_->ring));
}

// createBufferRing(count, size, bgid, data: Uint8Array over a SharedArrayBuffer) -> BufferRing or -errno
Napi::Value Ring::CreateBufferRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  unsigned count = info[0].As<Napi::Number>().Uint32Value();
  unsigned size = info[1].As<Napi::Number>().Uint32Value();
  unsigned bgid = info[2].As<Napi::Number>().Uint32Value();
  return memory_.CreateBufferRing(env, &state_->ring, count, size, bgid, info[3].As<Napi::Uint8Array>());
}
