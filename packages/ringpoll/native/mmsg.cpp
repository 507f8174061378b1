// Batched datagram I/O into caller-owned memory: recvmmsg/sendmmsg over one buffer cut into
// fixed-size slots, one syscall per batch. lib/sys.ts validates every argument; these trust them.
#include "mmsg.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>

#include "addon.hpp"

namespace {

// Scratch headers, per environment, sized for the largest batch seen (at most UIO_MAXIOV).
void Prepare(MmsgScratch& s, uint8_t* buf, size_t slot, const uint32_t* lengths, size_t count, bool addresses) {
  if (s.msgs.size() < count) {
    s.msgs.resize(count);
    s.iov.resize(count);
    s.addrs.resize(count);
  }
  for (size_t i = 0; i < count; i++) {
    s.iov[i] = {buf + i * slot, lengths != nullptr ? lengths[i] : slot};
    s.msgs[i] = {};
    s.msgs[i].msg_hdr.msg_iov = &s.iov[i];
    s.msgs[i].msg_hdr.msg_iovlen = 1;
    if (addresses) {
      s.msgs[i].msg_hdr.msg_name = &s.addrs[i];
      s.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
  }
}

// The same headers as the last recvmmsg's: only msg_namelen (written back by the kernel for each
// datagram received) needs resetting. msg_len and msg_flags are outputs only.
void PrepareRecv(MmsgScratch& s, uint8_t* buf, size_t slot, size_t count, bool addresses) {
  if (s.recvBuf == buf && s.recvSlot == slot && s.recvCount == count && s.recvAddresses == addresses) {
    for (size_t i = 0; addresses && i < s.used; i++) s.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    return;
  }
  Prepare(s, buf, slot, nullptr, count, addresses);
  s.recvBuf = buf;
  s.recvSlot = slot;
  s.recvCount = count;
  s.recvAddresses = addresses;
}

// The data of a typed array argument (lib/ passes the right kind): one napi call, where
// Napi::TypedArrayOf makes two.
template <typename T>
T* ArrayData(Napi::Env env, Napi::Value v) {
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok) return nullptr;
  return static_cast<T*>(data);
}

// recvmmsg(fd, buffer, slotSize, count, lengths, flags, addresses|null) -> datagrams or -errno.
// lengths[i]: bytes stored in slot i; flags[i]: msg_flags (MSG_TRUNC: the datagram was longer than
// its slot); addresses[2i], [2i+1]: source IPv4 address (host order) and port.
Napi::Value Recvmmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = Addon::Get(env);
  int fd = info[0].As<Napi::Number>().Int32Value();
  RecvTarget t;
  t.buf = ArrayData<uint8_t>(env, info[1]);
  t.slot = info[2].As<Napi::Number>().Uint32Value();
  t.count = info[3].As<Napi::Number>().Uint32Value();
  t.lengths = ArrayData<uint32_t>(env, info[4]);
  t.flags = ArrayData<uint32_t>(env, info[5]);
  t.addrs = info[6].IsTypedArray() ? ArrayData<uint32_t>(env, info[6]) : nullptr;
  if (t.buf == nullptr || t.lengths == nullptr || t.flags == nullptr) return Napi::Number::New(env, -EFAULT);
  return Napi::Number::New(env, RecvInto(addon.mmsg, addon.counters, fd, t, 0, nullptr));
}

// sendmmsg(fd, buffer, slotSize, count, lengths, addresses|null) -> datagrams sent or -errno.
// Datagram i is lengths[i] bytes from slot i, to addresses[2i]:[2i+1] when given (else the
// connected peer).
Napi::Value Sendmmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& addon = Addon::Get(env);
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto buf = info[1].As<Napi::Uint8Array>();
  size_t slot = info[2].As<Napi::Number>().Uint32Value();
  size_t count = info[3].As<Napi::Number>().Uint32Value();
  const uint32_t* lengths = info[4].As<Napi::Uint32Array>().Data();
  const uint32_t* addrs = info[5].IsTypedArray() ? info[5].As<Napi::Uint32Array>().Data() : nullptr;
  MmsgScratch& s = addon.mmsg;
  s.recvBuf = nullptr;  // these headers are laid out for sending now
  Prepare(s, buf.Data(), slot, lengths, count, addrs != nullptr);
  for (size_t i = 0; addrs != nullptr && i < count; i++) {
    s.addrs[i] = {};
    s.addrs[i].sin_family = AF_INET;
    s.addrs[i].sin_addr.s_addr = htonl(addrs[2 * i]);
    s.addrs[i].sin_port = htons(static_cast<uint16_t>(addrs[2 * i + 1]));
  }
  addon.counters.sendmmsgCalls++;
  int n = sendmmsg(fd, s.msgs.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
  if (n < 0) return Napi::Number::New(env, -errno);
  addon.counters.sendmmsgDatagrams += static_cast<uint64_t>(n);
  return Napi::Number::New(env, n);
}

// counters(out: Float64Array(6)): recvmmsg calls, datagrams received, sendmmsg calls, datagrams sent
// by this environment (thread) since it loaded the addon, its libuv loop's iterations, and libuv's
// epoll_wait calls. Node turns on libuv's idle-time metrics (uv_metrics_idle_time grows): an
// iteration then polls with timeout 0 first and, finding nothing, again to sleep — two calls per
// iteration that sleeps. events_waiting counts what first polls found; taking each such poll to
// find one event makes the estimate exact for a loop with one busy fd, and low otherwise.
Napi::Value Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const SysCounters& c = Addon::Get(env).counters;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  uv_metrics_t metrics{};
  uv_metrics_info(loop, &metrics);
  uint64_t polls = metrics.loop_count;
  if (uv_metrics_idle_time(loop) > 0 && 2 * metrics.loop_count > metrics.events_waiting) {
    polls = std::max(polls, 2 * metrics.loop_count - metrics.events_waiting);
  }
  auto out = info[0].As<Napi::Float64Array>();
  double v[] = {static_cast<double>(c.recvmmsgCalls), static_cast<double>(c.recvmmsgDatagrams),
                static_cast<double>(c.sendmmsgCalls), static_cast<double>(c.sendmmsgDatagrams),
                static_cast<double>(metrics.loop_count),  static_cast<double>(polls)};
  for (size_t i = 0; i < 6 && i < out.ElementLength(); i++) out[i] = v[i];
  return info.Env().Undefined();
}

}  // namespace

int RecvInto(MmsgScratch& s, SysCounters& c, int fd, const RecvTarget& t, size_t from, uint32_t* truncated) {
  PrepareRecv(s, t.buf, t.slot, t.count, t.addrs != nullptr);
  c.recvmmsgCalls++;
  int n;
  do {
    n = recvmmsg(fd, s.msgs.data() + from, static_cast<unsigned>(t.count - from), MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  // What the kernel wrote (msg_namelen) is reset before the next call: after a failure, all of it.
  s.used = n >= 0 ? from + static_cast<size_t>(n) : t.count;
  if (n < 0) return -errno;
  c.recvmmsgDatagrams += static_cast<uint64_t>(n);
  for (size_t i = from; i < from + static_cast<size_t>(n); i++) {
    t.lengths[i] = s.msgs[i].msg_len;
    t.flags[i] = static_cast<uint32_t>(s.msgs[i].msg_hdr.msg_flags);
    if (truncated != nullptr && (t.flags[i] & MSG_TRUNC) != 0) ++*truncated;
    if (t.addrs != nullptr) {
      bool inet = s.msgs[i].msg_hdr.msg_namelen >= sizeof(sockaddr_in) && s.addrs[i].sin_family == AF_INET;
      t.addrs[2 * i] = inet ? ntohl(s.addrs[i].sin_addr.s_addr) : 0;
      t.addrs[2 * i + 1] = inet ? ntohs(s.addrs[i].sin_port) : 0;
    }
  }
  return n;
}

void MmsgInit(Napi::Env env, Napi::Object fd) {
  fd.Set("recvmmsg", Napi::Function::New<Recvmmsg>(env, "recvmmsg"));
  fd.Set("sendmmsg", Napi::Function::New<Sendmmsg>(env, "sendmmsg"));
  fd.Set("counters", Napi::Function::New<Counters>(env, "counters"));
}
