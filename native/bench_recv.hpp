// Batched receive for the JS-level receivers: one call drains up to `max` datagrams with recvmmsg.
#pragma once
#include <napi.h>

// recvmmsg(fd, buffer, slotSize, lengths: Uint32Array) -> datagrams received (0 when none), or -errno.
// Datagram i lands at buffer[i * slotSize], its length in lengths[i]; lengths.length bounds the batch.
Napi::Value BenchRecvmmsg(const Napi::CallbackInfo& info);
