#include "errors.hpp"

#include <cstring>

#include "addon.hpp"

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  Addon& addon = Addon::Get(env);
  if (!addon.errorFactory.IsEmpty()) {
    Napi::Value e = addon.errorFactory.Call({Napi::Number::New(env, err), Napi::String::New(env, syscall),
                                             detail.empty() ? env.Undefined() : Napi::String::New(env, detail)});
    return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}
