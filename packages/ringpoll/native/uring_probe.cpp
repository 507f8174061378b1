#include "uring_probe.hpp"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

// liburing 2.3 ships 6.1 uapi headers: newer setup flags are defined here. 6.5 renamed the
// offsets' resv2 to user_addr when it added NO_MMAP.
#ifndef IORING_SETUP_NO_MMAP
#define IORING_SETUP_NO_MMAP (1U << 14)
#define RINGPOLL_USER_ADDR resv2
#else
#define RINGPOLL_USER_ADDR user_addr
#endif
#ifndef IORING_SETUP_REGISTERED_FD_ONLY
#define IORING_SETUP_REGISTERED_FD_ONLY (1U << 15)
#endif

namespace {

// IORING_REGISTER_USE_REGISTERED_RING (6.3) is an enum member in newer headers, so no #ifndef.
constexpr unsigned kUseRegisteredRing = 1U << 31;
// Enough for the SQ/CQ rings and SQEs of the small rings tried here (kernel rounds to pages).
constexpr size_t kUserRingBytes = 64 * 1024;
constexpr unsigned kProbeOps = 256;  // opcodes are a __u8

int Setup(unsigned entries, io_uring_params* p) {
  long r = syscall(__NR_io_uring_setup, entries, p);
  return r < 0 ? -errno : static_cast<int>(r);
}

struct Mapping {
  void* addr = MAP_FAILED;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, kUserRingBytes);
  }
  int Map() {
    addr = mmap(nullptr, kUserRingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return addr == MAP_FAILED ? -errno : 0;
  }
};

// REGISTERED_FD_ONLY returns an index into the task's registered rings, not an fd: unregistering
// it drops the only reference.
void CloseRing(int fdOrIndex, unsigned flags) {
  if (!(flags & IORING_SETUP_REGISTERED_FD_ONLY)) {
    close(fdOrIndex);
    return;
  }
  io_uring_rsrc_update update{};
  update.offset = static_cast<unsigned>(fdOrIndex);
  syscall(__NR_io_uring_register, fdOrIndex, IORING_UNREGISTER_RING_FDS | kUseRegisteredRing, &update, 1);
}

// setup(entries, flags, cqEntries, sqThreadCpu, sqThreadIdle) -> { result, flags, features, sqEntries,
// cqEntries }: result 0 when the kernel created the ring (closed again at once), else -errno.
// The resources some flags need are supplied here: ATTACH_WQ gets a ring to attach to, NO_MMAP
// gets anonymous memory for its rings.
Napi::Value SetupRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned entries = info[0].As<Napi::Number>().Uint32Value();
  io_uring_params p{};
  p.flags = info[1].As<Napi::Number>().Uint32Value();
  p.cq_entries = info[2].As<Napi::Number>().Uint32Value();
  p.sq_thread_cpu = info[3].As<Napi::Number>().Uint32Value();
  p.sq_thread_idle = info[4].As<Napi::Number>().Uint32Value();

  int result = 0;
  int wqFd = -1;
  Mapping rings, sqes;
  if (p.flags & IORING_SETUP_ATTACH_WQ) {
    io_uring_params plain{};
    wqFd = Setup(entries, &plain);
    if (wqFd < 0) result = wqFd;
    p.wq_fd = static_cast<unsigned>(wqFd);
  }
  if (result == 0 && (p.flags & IORING_SETUP_NO_MMAP)) {
    result = rings.Map();
    if (result == 0) result = sqes.Map();
    p.cq_off.RINGPOLL_USER_ADDR = reinterpret_cast<uintptr_t>(rings.addr);
    p.sq_off.RINGPOLL_USER_ADDR = reinterpret_cast<uintptr_t>(sqes.addr);
  }
  if (result == 0) {
    unsigned requested = p.flags;
    int fd = Setup(entries, &p);
    if (fd >= 0) {
      CloseRing(fd, requested);
    } else {
      result = fd;
    }
  }
  if (wqFd >= 0) close(wqFd);

  Napi::Object out = Napi::Object::New(env);
  out.Set("result", Napi::Number::New(env, result));
  out.Set("flags", Napi::Number::New(env, p.flags));
  out.Set("features", Napi::Number::New(env, result == 0 ? p.features : 0));
  out.Set("sqEntries", Napi::Number::New(env, result == 0 ? p.sq_entries : 0));
  out.Set("cqEntries", Napi::Number::New(env, result == 0 ? p.cq_entries : 0));
  return out;
}

// opcodes() -> { lastOp, supported: number[] } or -errno. IORING_REGISTER_PROBE on a fresh ring,
// as io_uring_get_probe() does, but keeping the errno that liburing 2.3 drops.
Napi::Value Opcodes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  io_uring ring;
  int r = io_uring_queue_init(2, &ring, 0);
  if (r < 0) return Napi::Number::New(env, r);
  auto* probe = static_cast<io_uring_probe*>(std::calloc(1, sizeof(io_uring_probe) + kProbeOps * sizeof(io_uring_probe_op)));
  if (probe == nullptr) {
    io_uring_queue_exit(&ring);
    return Napi::Number::New(env, -ENOMEM);
  }
  r = io_uring_register_probe(&ring, probe, kProbeOps);
  io_uring_queue_exit(&ring);
  if (r < 0) {
    std::free(probe);
    return Napi::Number::New(env, r);
  }
  Napi::Array supported = Napi::Array::New(env);
  uint32_t n = 0;
  for (unsigned i = 0; i < probe->ops_len && i < kProbeOps; i++) {
    if (probe->ops[i].flags & IO_URING_OP_SUPPORTED) supported.Set(n++, Napi::Number::New(env, probe->ops[i].op));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("lastOp", Napi::Number::New(env, probe->last_op));
  out.Set("supported", supported);
  std::free(probe);
  return out;
}

}  // namespace

Napi::Object UringProbeInit(Napi::Env env) {
  Napi::Object exports = Napi::Object::New(env);
  exports.Set("setup", Napi::Function::New(env, SetupRing, "setup"));
  exports.Set("opcodes", Napi::Function::New(env, Opcodes, "opcodes"));
  return exports;
}
