// Socket sets for the UDP benches, created in a chosen network namespace (or the caller's).
#pragma once
#include <netinet/in.h>

#include <functional>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace bench {

struct Endpoint {
  std::string netns;  // path like /var/run/netns/NAME, empty = the process's namespace
  std::string host;   // IPv4 address
};

// Runs fn on a short-lived thread that first joined `netns` (sockets take the namespace of the
// thread that creates them; setns on a shared thread would leak into other work).
void InNetns(const std::string& netns, Failure& failure, const std::function<void()>& fn);

// `count` UDP sockets bound to host:port, host:port+1, … (port 0: ephemeral ports).
// rcvbuf > 0 sets SO_RCVBUFFORCE (root) or SO_RCVBUF. nonblocking sockets throughout.
std::vector<int> OpenBound(const Endpoint& at, int count, int port, int rcvbuf, Failure& failure);

// One socket per peer, bound to an ephemeral port on `from.host` and connected to the peer's address.
std::vector<int> OpenConnected(const Endpoint& from, const std::vector<sockaddr_in>& peers, bool nonblocking,
                               Failure& failure);

// Connects each socket of `socks` to the matching address (both ends of udp-rr are connected).
void ConnectEach(const std::vector<int>& socks, const std::vector<sockaddr_in>& peers, Failure& failure);

std::vector<sockaddr_in> LocalAddresses(const std::vector<int>& socks, Failure& failure);

void CloseAll(std::vector<int>& fds);

// /proc/net/snmp of the namespace, or -1.
int OpenSnmp(const std::string& netns, Failure& failure);

}  // namespace bench
