// The native bench engine as one JS object: pps(), udpRr(), iops() run on threads and return
// Promises; openReceivers() and recvmmsg() serve the JS-level receivers.
#pragma once
#include <napi.h>

Napi::Object BenchInit(Napi::Env env);
