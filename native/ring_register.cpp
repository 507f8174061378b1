// Ring: registered buffers, files and provided buffer rings.
#include <cerrno>

#include "addon.hpp"
#include "buffer_ring.hpp"
#include "ring.hpp"

// registerBuffers(buffers: Uint8Array[]) -> 0 or -errno; the buffers stay pinned until unregistered.
Napi::Value Ring::RegisterBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  auto arr = info[0].As<Napi::Array>();
  std::vector<iovec> iovecs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    auto b = arr.Get(i).As<Napi::Uint8Array>();
    iovecs[i].iov_base = b.Data();
    iovecs[i].iov_len = b.ByteLength();
  }
  int r = io_uring_register_buffers(&state_->ring, iovecs.data(), static_cast<unsigned>(iovecs.size()));
  if (r < 0) return Napi::Number::New(env, r);
  iovecs_ = std::move(iovecs);
  registeredBuffers_.clear();
  for (uint32_t i = 0; i < arr.Length(); i++) registeredBuffers_.push_back(Napi::Persistent(arr.Get(i)));
  return Napi::Number::New(env, 0);
}

Napi::Value Ring::UnregisterBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  int r = io_uring_unregister_buffers(&state_->ring);
  if (r < 0) return Napi::Number::New(env, r);
  iovecs_.clear();
  // Requests in flight (batch API ones hold no pin of their own) may still use the kernel's
  // pinned pages of these buffers: keep the memory until nothing is in flight.
  if (inflight_ > 0) {
    for (auto& b : registeredBuffers_) retiredBuffers_.push_back(std::move(b));
  }
  registeredBuffers_.clear();
  return Napi::Number::New(env, 0);
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

// createBufferRing(count, size, bgid, data: ArrayBuffer) -> BufferRing or -errno
Napi::Value Ring::CreateBufferRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  unsigned count = info[0].As<Napi::Number>().Uint32Value();
  unsigned size = info[1].As<Napi::Number>().Uint32Value();
  unsigned bgid = info[2].As<Napi::Number>().Uint32Value();
  auto data = info[3].As<Napi::ArrayBuffer>();
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768 || size == 0 ||
      data.ByteLength() < static_cast<size_t>(count) * size) {
    return Napi::Number::New(env, -EINVAL);
  }
  Napi::Object obj = Addon::Get(env).bufferRingCtor.New({});
  BufferRing* br = BufferRing::Unwrap(obj);
  int r = br->Setup(&state_->ring, count, size, bgid, data);
  if (r < 0) return Napi::Number::New(env, r);
  bufferRings_.emplace_back(Napi::Persistent(obj), br);
  return obj;
}
