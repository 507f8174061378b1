#include "sendv.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <climits>

#include "iovecs.hpp"

namespace {

// sendv(fd, buffers: Uint8Array[], firstOffset, msgFlags) -> bytes sent or -errno. Sends from
// buffers[0] at firstOffset, then every later buffer whole; at most IOV_MAX buffers.
Napi::Value Sendv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (!info[1].IsArray()) return Napi::Number::New(env, -EINVAL);
  auto list = info[1].As<Napi::Array>();
  uint32_t n = list.Length();
  size_t first = info[2].As<Napi::Number>().Uint32Value();
  int flags = static_cast<int>(info[3].As<Napi::Number>().Uint32Value());
  if (n == 0 || n > IOV_MAX) return Napi::Number::New(env, -EINVAL);
  iovec iov[IOV_MAX];
  int err = FillIovecs(list, n, first, iov, nullptr);
  if (err < 0) return Napi::Number::New(env, err);
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  ssize_t r = sendmsg(fd, &msg, flags);
  return Napi::Number::New(env, r < 0 ? -errno : static_cast<double>(r));
}

}  // namespace

void SendvInit(Napi::Env env, Napi::Object fd) { fd.Set("sendv", Napi::Function::New<Sendv>(env, "sendv")); }
