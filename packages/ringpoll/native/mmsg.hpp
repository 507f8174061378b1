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
};

// Kernel entries made through sys by one environment (thread), for the per-wake counters.
struct SysCounters {
  uint64_t recvmmsgCalls = 0;
  uint64_t recvmmsgDatagrams = 0;
  uint64_t sendmmsgCalls = 0;
  uint64_t sendmmsgDatagrams = 0;
};

void MmsgInit(Napi::Env env, Napi::Object fd);
