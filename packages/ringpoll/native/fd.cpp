#include "fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon.hpp"
#include "mmsg.hpp"
#include "sendv.hpp"

namespace {

Napi::Number Result(Napi::Env env, long r) { return Napi::Number::New(env, r < 0 ? -errno : r); }

int Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

// An IPv4 or IPv6 (the host has a ':') socket address from (port, host) arguments.
struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
};

bool Addr(const Napi::CallbackInfo& info, size_t portArg, Address* a) {
  auto port = htons(static_cast<uint16_t>(Int(info, portArg)));
  std::string host = info[portArg + 1].As<Napi::String>().Utf8Value();
  if (host.find(':') != std::string::npos) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&a->ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = port;
    a->len = sizeof(sockaddr_in6);
    return inet_pton(AF_INET6, host.c_str(), &sa->sin6_addr) == 1;
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&a->ss);
  sa->sin_family = AF_INET;
  sa->sin_port = port;
  a->len = sizeof(sockaddr_in);
  return inet_pton(AF_INET, host.c_str(), &sa->sin_addr) == 1;
}

// A new fd, registered with the environment's FdRegistry when `own` (closed if a worker ends first).
Napi::Value NewFd(const Napi::CallbackInfo& info, int fd, bool own) {
  if (fd >= 0 && own) Addon::Get(info.Env()).fds.Own(fd);
  return Result(info.Env(), fd);
}

bool OwnArg(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].ToBoolean().Value(); }

// socket(type, family?, own?): type 0 = UDP, 1 = TCP; family 4 (default) or 6. Always nonblocking
// and close-on-exec.
Napi::Value Socket(const Napi::CallbackInfo& info) {
  int type = Int(info, 0) == 1 ? SOCK_STREAM : SOCK_DGRAM;
  int family = info.Length() > 1 && Int(info, 1) == 6 ? AF_INET6 : AF_INET;
  return NewFd(info, socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), OwnArg(info, 2));
}

// setsockopt(fd, level, name, value) with an int value; level/name: 0 = SOL_SOCKET, 1 =
// IPPROTO_TCP, 2 = IPPROTO_IPV6 (lib/ names the options, see lib/sys.ts SOCKOPT).
Napi::Value SetSockopt(const Napi::CallbackInfo& info) {
  static const int levels[] = {SOL_SOCKET, IPPROTO_TCP, IPPROTO_IPV6};
  int level = Int(info, 1);
  if (level < 0 || level > 2) return Napi::Number::New(info.Env(), -EINVAL);
  int value = Int(info, 3);
  return Result(info.Env(), setsockopt(Int(info, 0), levels[level], Int(info, 2), &value, sizeof value));
}

// shutdown(fd, how): 0 = SHUT_RD, 1 = SHUT_WR, 2 = SHUT_RDWR
Napi::Value Shutdown(const Napi::CallbackInfo& info) { return Result(info.Env(), shutdown(Int(info, 0), Int(info, 1))); }

// sockname(fd, peer) -> [family 4|6, address, port] of getsockname (peer false) or getpeername, or -errno
Napi::Value Sockname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  int r = info[1].ToBoolean().Value() ? getpeername(Int(info, 0), sa, &len) : getsockname(Int(info, 0), sa, &len);
  if (r < 0) return Result(env, -1);
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  int family = 4;
  if (ss.ss_family == AF_INET6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
    port = ntohs(s6->sin6_port);
    family = 6;
  } else if (ss.ss_family == AF_INET) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    port = ntohs(s4->sin_port);
  } else {
    return Napi::Number::New(env, -EAFNOSUPPORT);
  }
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::Number::New(env, family));
  a.Set(1u, Napi::String::New(env, host));
  a.Set(2u, Napi::Number::New(env, port));
  return a;
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
  Address a;
  if (!Addr(info, 1, &a)) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(), bind(Int(info, 0), a.get(), a.len));
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  Address a;
  if (!Addr(info, 1, &a)) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(), connect(Int(info, 0), a.get(), a.len));
}

Napi::Value Listen(const Napi::CallbackInfo& info) { return Result(info.Env(), listen(Int(info, 0), Int(info, 1))); }

// accept(fd, own?)
Napi::Value Accept(const Napi::CallbackInfo& info) {
  return NewFd(info, accept4(Int(info, 0), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC), OwnArg(info, 1));
}

// localPort(fd) -> the bound port (IPv4 and IPv6 keep the port at the same offset)
Napi::Value LocalPort(const Napi::CallbackInfo& info) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(Int(info, 0), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Result(info.Env(), -1);
  return Napi::Number::New(info.Env(), ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
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
  Address a;
  if (!Addr(info, 4, &a)) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(), sendto(Int(info, 0), buf.Data() + off, len, 0, a.get(), a.len));
}

// own(fd): the environment's FdRegistry closes it if the environment ends first.
Napi::Value Own(const Napi::CallbackInfo& info) {
  Addon::Get(info.Env()).fds.Own(Int(info, 0));
  return info.Env().Undefined();
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = Int(info, 0);
  Addon::Get(info.Env()).fds.Forget(fd);
  return Result(info.Env(), close(fd));
}

}  // namespace

Napi::Object FdInit(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("socket", Napi::Function::New<Socket>(env, "socket"));
  o.Set("setReuse", Napi::Function::New<SetReuse>(env, "setReuse"));
  o.Set("setsockopt", Napi::Function::New<SetSockopt>(env, "setsockopt"));
  o.Set("shutdown", Napi::Function::New<Shutdown>(env, "shutdown"));
  o.Set("sockname", Napi::Function::New<Sockname>(env, "sockname"));
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
  o.Set("own", Napi::Function::New<Own>(env, "own"));
  o.Set("close", Napi::Function::New<Close>(env, "close"));
  MmsgInit(env, o);
  SendvInit(env, o);
  return o;
}
