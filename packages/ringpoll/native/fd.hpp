// Thin fd syscalls (sockets, eventfd, pipes, read/write) for code that brings its own fds to
// Epoll or IoUring: tests, the JS-level bench receivers, users. Each returns a result >= 0 or -errno.
#pragma once
#include <napi.h>

Napi::Object FdInit(Napi::Env env);
