#include "bench_snmp.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace bench {

namespace {
std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
}  // namespace

UdpCounters ReadUdpCounters(int fd) {
  UdpCounters c;
  char buf[8192];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return c;
  buf[n] = 0;
  // Two "Udp:" lines: the field names, then the values.
  std::vector<std::string> names, values;
  for (char* line = strtok(buf, "\n"); line != nullptr; line = strtok(nullptr, "\n")) {
    if (std::strncmp(line, "Udp: ", 5) != 0) continue;
    (names.empty() ? names : values) = Split(line + 5);
  }
  if (names.empty() || names.size() != values.size()) return c;
  for (size_t i = 0; i < names.size(); i++) {
    uint64_t v = std::strtoull(values[i].c_str(), nullptr, 10);
    if (names[i] == "InDatagrams") c.inDatagrams = v;
    else if (names[i] == "OutDatagrams") c.outDatagrams = v;
    else if (names[i] == "RcvbufErrors") c.rcvbufErrors = v;
    else if (names[i] == "InErrors") c.inErrors = v;
  }
  c.ok = true;
  return c;
}

}  // namespace bench
