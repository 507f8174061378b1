// Per-environment state of the addon (one per main thread / worker): no globals.
#pragma once
#include <napi.h>

#include "fd_registry.hpp"
#include "mmsg.hpp"

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  static Addon& Get(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

  // Set once from lib/: (errno, syscall, detail?) => Error, so native errors carry code/errno/syscall.
  Napi::FunctionReference errorFactory;
  Napi::FunctionReference bufferRingCtor;
  FdRegistry fds;  // first member: its cleanup hook must be registered before any Ring's
  MmsgScratch mmsg;
  SysCounters counters;

 private:
  void SetErrorFactory(const Napi::CallbackInfo& info);
};
