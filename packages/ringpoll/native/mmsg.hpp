// recvmmsg/sendmmsg for lib/sys.ts, added to the addon's `fd` object.
#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

struct MmsgScratch {
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_in> addrs;
  // The headers as recvmmsg last laid them out (a receiver calls it with the same batch every
  // time): reused when these match, after resetting what the kernel wrote into the first `used`.
  const uint8_t* recvBuf = nullptr;
  size_t recvSlot = 0;
  size_t recvCount = 0;
  bool recvAddresses = false;
  size_t used = 0;
};

// Kernel entries made through sys by one environment (thread), for the per-wake counters.
struct SysCounters {
  uint64_t recvmmsgCalls = 0;
  uint64_t recvmmsgDatagrams = 0;
  uint64_t sendmmsgCalls = 0;
  uint64_t sendmmsgDatagrams = 0;
};

// Where received datagrams' lengths, msg_flags and (optionally) IPv4 addresses go, and the
// memory they go into: one buffer of `count` slots of `slot` bytes.
struct RecvTarget {
  uint8_t* buf = nullptr;
  size_t slot = 0;
  size_t count = 0;
  uint32_t* lengths = nullptr;
  uint32_t* flags = nullptr;
  uint32_t* addrs = nullptr;  // 2 entries per datagram, or null
};

// recvmmsg(fd) into slots [from, t.count) of the target (MSG_DONTWAIT): datagrams or -errno.
// Results are written to lengths/flags/addrs; `truncated` grows by the datagrams cut to the slot.
int RecvInto(MmsgScratch& s, SysCounters& c, int fd, const RecvTarget& t, size_t from, uint32_t* truncated);

void MmsgInit(Napi::Env env, Napi::Object fd);
