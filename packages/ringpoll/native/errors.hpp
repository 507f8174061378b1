// Native errors are built by the JS error factory so they look like Node's SystemError.
#pragma once
#include <napi.h>

#include <string>

// err is a positive errno value.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

// Calls a JS batch handler with `n` from a libuv callback. An exception the handler throws is
// reported like an 'error' with no listener; a call refused because the environment is being torn
// down (worker.terminate()) is ignored: node-addon-api would abort building an Error for it.
void CallHandler(Napi::Env env, napi_async_context context, napi_value recv, napi_value handler, int n);
