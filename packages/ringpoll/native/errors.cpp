#include "errors.hpp"

#include "addon.hpp"
#include "errno_error.hpp"

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  return MakeErrnoError(env, Addon::Get(env).errorFactory, err, syscall, detail);
}
