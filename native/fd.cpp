#include "fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mmsg.hpp"

namespace {

Napi::Number Result(Napi::Env env, long r) { return Napi::Number::New(env, r < 0 ? -errno : r); }

int Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

bool Addr(const Napi::CallbackInfo& info, size_t portArg, sockaddr_in* sa) {
  std::memset(sa, 0, sizeof(*sa));
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(Int(info, portArg)));
  std::string host = info[portArg + 1].As<Napi::String>().Utf8Value();
  return inet_pton(AF_INET, host.c_str(), &sa->sin_addr) == 1;
}

// socket(type): 0 = UDP, 1 = TCP; always nonblocking and close-on-exec.
Napi::Value Socket(const Napi::CallbackInfo& info) {
  int type = Int(info, 0) == 1 ? SOCK_STREAM : SOCK_DGRAM;
  return Result(info.Env(), socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

Napi::Value SetReuse(const Napi::CallbackInfo& info) {
  int one = 1;
  int fd = Int(info, 0);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return Result(info.Env(), -1);
  return Result(info.Env(), setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
}

Napi::Value SetBufferSize(const Napi::CallbackInfo& info) {
  int size = Int(info, 2);
  int opt = Int(info, 1) == 0 ? SO_RCVBUF : SO_SNDBUF;
  return Result(info.Env(), setsockopt(Int(info, 0), SOL_SOCKET, opt, &size, sizeof size));
}

// bind(fd, port, host)
Napi::Value Bind(const Napi::CallbackInfo& info) {
  sockaddr_in sa;
  if (!Addr(info, 1, &sa)) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(), bind(Int(info, 0), reinterpret_cast<sockaddr*>(&sa), sizeof sa));
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  sockaddr_in sa;
  if (!Addr(info, 1, &sa)) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(), connect(Int(info, 0), reinterpret_cast<sockaddr*>(&sa), sizeof sa));
}

Napi::Value Listen(const Napi::CallbackInfo& info) { return Result(info.Env(), listen(Int(info, 0), Int(info, 1))); }

Napi::Value Accept(const Napi::CallbackInfo& info) {
  return Result(info.Env(), accept4(Int(info, 0), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

// localPort(fd) -> the bound port
Napi::Value LocalPort(const Napi::CallbackInfo& info) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (getsockname(Int(info, 0), reinterpret_cast<sockaddr*>(&sa), &len) < 0) return Result(info.Env(), -1);
  return Napi::Number::New(info.Env(), ntohs(sa.sin_port));
}

Napi::Value Eventfd(const Napi::CallbackInfo& info) {
  return Result(info.Env(), eventfd(info[0].As<Napi::Number>().Uint32Value(), EFD_NONBLOCK | EFD_CLOEXEC));
}

// pipe(out: Int32Array(2)) -> 0
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  auto out = info[0].As<Napi::Int32Array>();
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return Result(info.Env(), -1);
  out[0] = fds[0];
  out[1] = fds[1];
  return Napi::Number::New(info.Env(), 0);
}

// read/recv/write/send(fd, buffer, offset, length)
template <bool IsRead>
Napi::Value Io(const Napi::CallbackInfo& info) {
  auto buf = info[1].As<Napi::Uint8Array>();
  size_t off = info[2].As<Napi::Number>().Uint32Value();
  size_t len = info[3].As<Napi::Number>().Uint32Value();
  if (off > buf.ByteLength() || len > buf.ByteLength() - off) return Napi::Number::New(info.Env(), -EFAULT);
  uint8_t* p = buf.Data() + off;
  return Result(info.Env(), IsRead ? read(Int(info, 0), p, len) : write(Int(info, 0), p, len));
}

// sendto(fd, buffer, offset, length, port, host)
Napi::Value SendTo(const Napi::CallbackInfo& info) {
  auto buf = info[1].As<Napi::Uint8Array>();
  size_t off = info[2].As<Napi::Number>().Uint32Value();
  size_t len = info[3].As<Napi::Number>().Uint32Value();
  if (off > buf.ByteLength() || len > buf.ByteLength() - off) return Napi::Number::New(info.Env(), -EFAULT);
  sockaddr_in sa;
  if (!Addr(info, 4, &sa)) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(),
                sendto(Int(info, 0), buf.Data() + off, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa));
}

Napi::Value Close(const Napi::CallbackInfo& info) { return Result(info.Env(), close(Int(info, 0))); }

}  // namespace

Napi::Object FdInit(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("socket", Napi::Function::New<Socket>(env, "socket"));
  o.Set("setReuse", Napi::Function::New<SetReuse>(env, "setReuse"));
  o.Set("setBufferSize", Napi::Function::New<SetBufferSize>(env, "setBufferSize"));
  o.Set("bind", Napi::Function::New<Bind>(env, "bind"));
  o.Set("connect", Napi::Function::New<Connect>(env, "connect"));
  o.Set("listen", Napi::Function::New<Listen>(env, "listen"));
  o.Set("accept", Napi::Function::New<Accept>(env, "accept"));
  o.Set("localPort", Napi::Function::New<LocalPort>(env, "localPort"));
  o.Set("eventfd", Napi::Function::New<Eventfd>(env, "eventfd"));
  o.Set("pipe", Napi::Function::New<Pipe>(env, "pipe"));
  o.Set("read", Napi::Function::New<Io<true>>(env, "read"));
  o.Set("write", Napi::Function::New<Io<false>>(env, "write"));
  o.Set("sendto", Napi::Function::New<SendTo>(env, "sendto"));
  o.Set("close", Napi::Function::New<Close>(env, "close"));
  MmsgInit(env, o);
  return o;
}
