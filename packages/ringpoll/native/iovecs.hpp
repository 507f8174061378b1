// The iovec array of a vectored send over JS buffers (sys sendv, the ring's prepSendv).
#pragma once
#include <napi.h>
#include <sys/uio.h>

#include <cerrno>

// Fills iov[0..n) from `list` (n buffers, n <= its capacity): buffers[0] from `first`, each later one
// whole; each buffer also goes into `pins` when given. 0, or -EINVAL (not a typed array) or
// -EFAULT (first is past the first buffer's end).
inline int FillIovecs(const Napi::Array& list, uint32_t n, size_t first, iovec* iov, Napi::Array* pins) {
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsTypedArray()) return -EINVAL;
    auto buf = v.As<Napi::Uint8Array>();
    size_t skip = i == 0 ? first : 0;
    if (skip > buf.ByteLength()) return -EFAULT;
    iov[i].iov_base = buf.Data() + skip;
    iov[i].iov_len = buf.ByteLength() - skip;
    if (pins != nullptr) pins->Set(i, v);
  }
  return 0;
}
