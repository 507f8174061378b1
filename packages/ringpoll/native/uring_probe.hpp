// What this kernel's io_uring accepts, found by trying: io_uring_setup with given flags (ring
// closed at once) and the opcode probe. No policy here; lib/uring-probe.ts chooses what to try.
#pragma once
#include <napi.h>

Napi::Object UringProbeInit(Napi::Env env);
