// One pps or udp-rr run from socket setup to teardown: the sockets, the pinned threads, the
// measured window, then stop, join and close (nothing outlives the run).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "bench_measure.hpp"
#include "bench_sockets.hpp"

namespace bench {

struct PpsConfig {
  std::string receiver;          // a ReceiverKind name, or "external" (a JS receiver counts)
  Endpoint from, to;             // sender / receiver namespace and address
  int flows = 1;
  int port = 0;                  // first receiver port; 0 = ephemeral
  int size = 64;
  int senders = 1;
  double rate = 0;               // total datagrams/s, 0 = unlimited
  int rcvbuf = 0;
  int batch = 64;
  int maxEvents = 1024;
  double injectNs = 0;           // extra work per packet in the receiver
  std::vector<int> senderCpus;   // one per sender thread, -1 = unpinned
  int receiverCpu = -1;
  Timing timing;
  // external receiver: its sockets and the counter it increments (a JS Uint32Array element)
  std::vector<int> externalFds;
  uint32_t* externalCounter = nullptr;
  pthread_t externalThread{};
};

struct UdpResult {
  Window window;
  uint64_t injectLoops = 0;
  unsigned ringFlags = 0;
  // udp-rr: round trips measured by the client over the window, in ns (empty otherwise)
  std::vector<uint64_t> rttQuantiles;  // p50, p90, p99, p99.9, max
  uint64_t rttCount = 0;
};

void RunPps(const PpsConfig& cfg, UdpResult& out, Failure& failure);

struct RrRunConfig {
  std::string server;            // "epoll", "uring", or "external" (a JS server answers)
  Endpoint client, serverAt;
  int flows = 1000;
  int size = 64;
  int clients = 1;
  int maxEvents = 1000;
  double injectNs = 0;
  std::vector<int> clientCpus;
  int serverCpu = -1;
  Timing timing;
  // external server: its sockets (bound; connected here to the client's) and the request counter
  // it bumps (a JS Uint32Array element), on the thread that called
  std::vector<int> externalFds;
  uint32_t* externalCounter = nullptr;
  pthread_t externalThread{};
};

// window.count = transactions (client side), window.secondary = requests the server received.
void RunRr(const RrRunConfig& cfg, UdpResult& out, Failure& failure);

}  // namespace bench
