#include "bench_rr.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <vector>

#include "bench_cpu.hpp"
#include "bench_inject.hpp"

namespace bench {

namespace {
constexpr uint32_t kStop = UINT32_MAX;

bool Transient(int err) { return err == EAGAIN || err == EINTR || err == ECONNREFUSED; }

// Shared by client and server: epoll over the flows; `onReady` handles one ready socket.
template <typename OnReady>
void EpollRun(const RrConfig& cfg, Counter& counter, Failure& failure, const Stop& stop, OnReady onReady) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return failure.Record(errno, "epoll_create1");
  auto add = [&](int fd, uint32_t data) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = data;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) failure.Record(errno, "epoll_ctl");
  };
  for (size_t i = 0; i < cfg.fds.size(); i++) add(cfg.fds[i], static_cast<uint32_t>(i));
  add(stop.Fd(), kStop);
  std::vector<epoll_event> events(cfg.maxEvents);
  std::vector<char> buf(cfg.size > 0 ? cfg.size : 1);
  uint64_t total = 0;
  while (!failure.Failed() && !stop.Requested()) {
    int n = epoll_wait(ep, events.data(), cfg.maxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      failure.Record(errno, "epoll_wait");
      break;
    }
    uint64_t before = total;
    for (int i = 0; i < n; i++) {
      if (events[i].data.u32 == kStop) break;
      int fd = cfg.fds[events[i].data.u32];
      ssize_t got = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (!Transient(errno)) failure.Record(errno, "recv");
        continue;
      }
      total++;
      onReady(events[i].data.u32, fd, buf.data(), got);
    }
    if (cfg.injectLoops) Spin(cfg.injectLoops * (total - before));
    counter.Publish(total);
  }
  close(ep);
}
}  // namespace

void RunRrClient(const RrConfig& cfg, Counter& transactions, Failure& failure, const Stop& stop, LatencyHistogram& rtt,
                 const std::atomic<bool>& recording) {
  std::vector<char> req(cfg.size > 0 ? cfg.size : 1, 'q');
  std::vector<int64_t> sentAt(cfg.fds.size(), MonotonicNs());
  for (int fd : cfg.fds) {
    if (send(fd, req.data(), cfg.size, 0) < 0 && !Transient(errno)) return failure.Record(errno, "send");
  }
  RrConfig client = cfg;
  client.injectLoops = 0;
  EpollRun(client, transactions, failure, stop, [&](uint32_t flow, int fd, char*, ssize_t) {
    int64_t now = MonotonicNs();
    if (recording.load(std::memory_order_relaxed)) rtt.Record(static_cast<uint64_t>(now - sentAt[flow]));
    sentAt[flow] = now;
    if (send(fd, req.data(), cfg.size, MSG_DONTWAIT) < 0 && !Transient(errno)) failure.Record(errno, "send");
  });
}

void RunRrEpollServer(const RrConfig& cfg, Counter& requests, Failure& failure, const Stop& stop) {
  EpollRun(cfg, requests, failure, stop, [&](uint32_t, int fd, char* data, ssize_t len) {
    if (send(fd, data, len, MSG_DONTWAIT) < 0 && !Transient(errno)) failure.Record(errno, "send");
  });
}

}  // namespace bench
