// sendv: sendmsg() over several buffers at once (a nonblocking socket's queued writes, no copy).
#pragma once
#include <napi.h>

// Adds sendv to the fd object.
void SendvInit(Napi::Env env, Napi::Object fd);
