// Native errors are built by a JS error factory (handed over once per addon and environment) so
// they look like Node's SystemError. Shared by the library addon and the bench addon.
#pragma once
#include <napi.h>

#include <cstring>
#include <string>

// err is a positive errno value; factory may be empty (before setErrorFactory ran).
inline Napi::Error MakeErrnoError(Napi::Env env, const Napi::FunctionReference& factory, int err,
                                  const char* syscall, const std::string& detail) {
  if (!factory.IsEmpty()) {
    Napi::Value e = factory.Call({Napi::Number::New(env, err), Napi::String::New(env, syscall),
                                  detail.empty() ? env.Undefined() : Napi::String::New(env, detail)});
    if (!e.IsEmpty() && e.IsObject()) return Napi::Error(env, e);
    // The factory could not run (a worker being terminated): wrapping a non-object is fatal in
    // node-addon-api, so hand back a plain Error instead.
    return Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  }
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}
