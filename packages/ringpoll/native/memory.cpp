#include "memory.hpp"

#include <cstdlib>
#include <cstring>

namespace {

// alignedBuffer(size, alignment) -> ArrayBuffer whose memory starts at a multiple of alignment, or
// -errno (ENOMEM; EINVAL for an alignment that is not a power of two). V8 frees it (through the
// finalizer) only when nothing, including a pinned request, references it.
Napi::Value AlignedBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t size = info[0].As<Napi::Number>().Uint32Value();
  size_t alignment = info[1].As<Napi::Number>().Uint32Value();
  void* p = nullptr;
  int r = posix_memalign(&p, alignment, size == 0 ? alignment : size);
  if (r != 0) return Napi::Number::New(env, -r);
  std::memset(p, 0, size);
  return Napi::ArrayBuffer::New(env, p, size, [](Napi::Env, void* data) { std::free(data); });
}

}  // namespace

Napi::Object MemoryInit(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("alignedBuffer", Napi::Function::New<AlignedBuffer>(env, "alignedBuffer"));
  return o;
}
