// Memory with an alignment the kernel requires (O_DIRECT wants logical-block alignment).
#pragma once
#include <napi.h>

Napi::Object MemoryInit(Napi::Env env);
