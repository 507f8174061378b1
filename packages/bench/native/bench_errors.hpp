// Errors of the bench engine, built by the library's JS error factory (code/errno/syscall).
#pragma once
#include <napi.h>

#include <string>

// err is a positive errno value.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");
