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
    // Called through the C API: in a worker being terminated the call fails with no exception
    // object, and node-addon-api's Call would wrap that non-object, which aborts the process.
    napi_value argv[3] = {Napi::Number::New(env, err), Napi::String::New(env, syscall),
                          detail.empty() ? env.Undefined() : Napi::String::New(env, detail)};
    napi_value result;
    napi_valuetype type;
    if (napi_call_function(env, env.Undefined(), factory.Value(), 3, argv, &result) == napi_ok &&
        napi_typeof(env, result, &type) == napi_ok && type == napi_object) {
      return Napi::Error(env, result);
    }
    bool pending = false;
    napi_value ignored;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
    napi_value message, error;
    napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &error);
    return Napi::Error(env, error);
  }
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}
