#include "bench_recv.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <vector>

Napi::Value BenchRecvmmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto buf = info[1].As<Napi::Uint8Array>();
  size_t slot = info[2].As<Napi::Number>().Uint32Value();
  auto lengths = info[3].As<Napi::Uint32Array>();
  size_t max = lengths.ElementLength();
  if (slot == 0 || max == 0) return Napi::Number::New(env, -EINVAL);
  if (buf.ByteLength() / slot < max) max = buf.ByteLength() / slot;
  if (max > 1024) max = 1024;
  iovec iov[1024];
  mmsghdr msgs[1024];
  for (size_t i = 0; i < max; i++) {
    iov[i] = {buf.Data() + i * slot, slot};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(fd, msgs, static_cast<unsigned>(max), MSG_DONTWAIT, nullptr);
  if (n < 0) return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
  for (int i = 0; i < n; i++) lengths[i] = msgs[i].msg_len;
  return Napi::Number::New(env, n);
}
