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

void MmsgInit(Napi::Env env, Napi::Object fd);
