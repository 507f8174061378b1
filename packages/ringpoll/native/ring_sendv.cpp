// Ring::PrepSendv: one IORING_OP_SENDMSG over several JS buffers (a socket's queued writes as one
// vectored send, no copy). The msghdr and iovec array live in the request's slot and the buffers
// are pinned by an array only native code holds, both until the final CQE.
#include <climits>
#include <cstring>

#include "iovecs.hpp"
#include "ring.hpp"

// prepSendv(fd, buffers: Uint8Array[], firstOffset, msgFlags, tag) -> 0 or -errno. Sends from
// buffers[0] at firstOffset (a partial send going on), then every later buffer whole; at most
// IOV_MAX buffers. Everything is checked before an SQE is taken.
Napi::Value Ring::PrepSendv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Open()) return Napi::Number::New(env, -EBADF);
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (!info[1].IsArray()) return Napi::Number::New(env, -EINVAL);
  auto list = info[1].As<Napi::Array>();
  uint32_t n = list.Length();
  size_t first = info[2].As<Napi::Number>().Uint32Value();
  uint32_t msgFlags = info[3].As<Napi::Number>().Uint32Value();
  uint32_t tag = info[4].As<Napi::Number>().Uint32Value();
  // The iovecs live in a tracked request's slot.
  if (n == 0 || n > IOV_MAX || (tag & kTrackedTag) == 0) return Napi::Number::New(env, -EINVAL);
  if (!credentials_.Unchanged()) return Napi::Number::New(env, -EPERM);

  // The slot is free (lib/ allocated its tag for this request): its iovecs can be filled in now.
  Slot* slot = SlotFor(tag);
  if (!slot->extra) slot->extra = std::make_unique<RequestExtra>();
  RequestExtra* e = slot->extra.get();
  e->iovs.resize(n);
  // lib/ may change `list` once this returns: the pins are an array of native code's own.
  Napi::Array pins = Napi::Array::New(env, n);
  int err = FillIovecs(list, n, first, e->iovs.data(), &pins);
  if (err < 0) return Napi::Number::New(env, err);
  if (!Reserve(1)) return Napi::Number::New(env, -EBUSY);
  e->stores.resize(n);
  for (uint32_t i = 0; i < n; i++) e->stores[i] = StoreOf(pins.Get(i));

  // Nothing can fail from here on.
  std::memset(&e->msg, 0, sizeof e->msg);
  e->msg.msg_iov = e->iovs.data();
  e->msg.msg_iovlen = n;
  io_uring_sqe* sqe = io_uring_get_sqe(&state_->ring);
  io_uring_prep_sendmsg(sqe, fd, &e->msg, msgFlags);
  sqe->user_data = tag;
  slot->memory = 0;
  slot->pin = Napi::Persistent(Napi::Value(pins));
  slot->active = true;
  ScheduleSubmit();
  return Napi::Number::New(env, 0);
}
