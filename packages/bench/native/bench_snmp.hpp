// The kernel's own UDP counters (/proc/net/snmp "Udp:" lines) of one network namespace.
#pragma once
#include <cstdint>

namespace bench {

struct UdpCounters {
  uint64_t inDatagrams = 0;
  uint64_t outDatagrams = 0;
  uint64_t rcvbufErrors = 0;
  uint64_t inErrors = 0;
  bool ok = false;
};

// `fd` is /proc/net/snmp opened in the namespace of interest; the file is regenerated on each read.
UdpCounters ReadUdpCounters(int fd);

}  // namespace bench
