#include "addon.hpp"

#include "buffer_ring.hpp"
#include "credentials.hpp"
#include "epoll.hpp"
#include "fd.hpp"
#include "memory.hpp"
#include "ring.hpp"
#include "uring_probe.hpp"

Addon::Addon(Napi::Env env, Napi::Object exports) : fds(env) {
  DefineAddon(exports, {InstanceMethod("setErrorFactory", &Addon::SetErrorFactory)});
  exports.Set("Epoll", Epoll::Init(env));
  exports.Set("credentials", CredentialsInit(env));
  exports.Set("fd", FdInit(env));
  exports.Set("memory", MemoryInit(env));
  exports.Set("Ring", Ring::Init(env));
  Napi::Function bufferRing = BufferRing::Init(env);
  bufferRingCtor = Napi::Persistent(bufferRing);
  exports.Set("uringProbe", UringProbeInit(env));
  exports.Set("liburingVersion", Napi::String::New(env, RINGPOLL_LIBURING_VERSION));
}

void Addon::SetErrorFactory(const Napi::CallbackInfo& info) {
  errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
}

NODE_API_ADDON(Addon)
