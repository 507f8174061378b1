// Native errors are built by the JS error factory so they look like Node's SystemError.
#pragma once
#include <napi.h>

#include <string>

// err is a positive errno value.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");
