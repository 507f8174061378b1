#include "errors.hpp"

#include "addon.hpp"
#include "errno_error.hpp"

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  return MakeErrnoError(env, Addon::Get(env).errorFactory, err, syscall, detail);
}

void CallHandler(Napi::Env env, napi_async_context context, napi_value recv, napi_value handler, int n) {
  napi_value argv[1];
  if (napi_create_int32(env, n, &argv[0]) != napi_ok) return;
  napi_value result;
  if (napi_make_callback(env, context, recv, handler, 1, argv, &result) == napi_ok) return;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  napi_value exception;
  if (!pending || napi_get_and_clear_last_exception(env, &exception) != napi_ok) return;
  napi_valuetype type;
  // A terminating environment has no exception object to report.
  if (napi_typeof(env, exception, &type) != napi_ok || type == napi_undefined) return;
  napi_fatal_exception(env, exception);
}
