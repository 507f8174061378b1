// Native receiver loops for the pps bench. Each runs on its own pinned thread until stop and
// publishes the datagrams it received after every batch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace bench {

enum class ReceiverKind { Recvmmsg, Epoll, Epoll1, Uring, UringRecvmsg };

// Parses "recvmmsg", "epoll", "epoll-1", "uring", "uring-recvmsg"; false if unknown.
bool ParseReceiverKind(const std::string& name, ReceiverKind* kind);

struct ReceiverConfig {
  std::vector<int> fds;      // bound, nonblocking sockets (one per flow)
  int size = 64;             // expected payload; buffers are this size
  int batch = 64;            // recvmmsg batch
  int maxEvents = 1024;      // epoll_wait maxevents
  uint64_t injectLoops = 0;  // bench::Spin loops per packet
};

void RunReceiver(ReceiverKind kind, const ReceiverConfig& cfg, Counter& received, Failure& failure, const Stop& stop);

// The io_uring receivers (bench_uring_receivers.cpp).
void RunUringRecv(const ReceiverConfig& cfg, bool recvmsg, Counter& received, Failure& failure, const Stop& stop);

}  // namespace bench
