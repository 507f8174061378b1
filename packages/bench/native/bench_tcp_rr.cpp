#include "bench_tcp_rr.hpp"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "bench_cpu.hpp"
#include "bench_tcp_rr_run.hpp"

namespace bench {

namespace {

// A new connection in `ep` (event data: its index); churn counts the connect in the transaction.
bool Open(RrConn& c, uint32_t index, int ep, const sockaddr_in& to, uint64_t serial, Failure& failure) {
  c.fd = ConnectTcp(to, serial, failure);
  if (c.fd < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = index;
  epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  return true;
}

// A recv and a send per transaction; in churn also a connect and a close.
TcpRrResult RunEpollClient(const TcpRrConfig& cfg, Failure& failure) {
  std::vector<RrConn> conns(cfg.connections);
  const size_t size = static_cast<size_t>(cfg.size);
  std::vector<char> buf(std::max<size_t>(size, 65536));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  const sockaddr_in sa = ServerAddress(cfg);
  RrRun run(cfg, NowNs());
  uint64_t opened = 0;
  for (size_t i = 0; i < conns.size() && !failure.Failed(); i++) {
    uint64_t t = NowNs();
    if (Open(conns[i], static_cast<uint32_t>(i), ep, sa, opened++, failure)) SendRequest(run, conns[i], cfg.churn ? t : NowNs(), size, failure);
  }
  std::vector<epoll_event> events(1024);
  while (!failure.Failed()) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) failure.Record(errno, "epoll_wait");
    uint64_t now = NowNs();
    if (!run.Tick(now, failure)) break;
    for (int i = 0; i < n && !failure.Failed(); i++) {
      uint32_t index = events[i].data.u32;
      RrConn& c = conns[index];
      ssize_t got = recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got == 0) failure.Record(ECONNRESET, "recv", "the server closed a connection");
      if (got < 0 && errno != EAGAIN && errno != EINTR) failure.Record(errno, "recv");
      if (got <= 0 || !run.Received(c, buf.data(), static_cast<size_t>(got), now, failure)) continue;
      if (cfg.churn) {
        close(c.fd);  // also leaves the epoll
        c.fd = -1;
        if (!run.Sending()) continue;
        uint64_t t = NowNs();
        if (!Open(c, index, ep, sa, opened++, failure)) break;
        SendRequest(run, c, t, size, failure);
      } else if (run.Sending()) {
        SendRequest(run, c, NowNs(), size, failure);
      }
    }
  }
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  close(ep);
  TcpRrResult out;
  out.client = "epoll";
  return run.Finish(out);
}

}  // namespace

TcpRrResult RunTcpRrClient(const TcpRrConfig& cfg, Failure& failure) {
  cpu_set_t old;
  pthread_getaffinity_np(pthread_self(), sizeof old, &old);
  PinThread(pthread_self(), cfg.cpu);
  // This is a thread-pool thread: its nice value goes back after the run (setpriority on a tid
  // changes that thread only).
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  errno = 0;
  const int oldNice = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  TcpRrResult out;
  if (cfg.nice != 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(tid), cfg.nice) < 0) {
    failure.Record(errno, "setpriority");
  } else {
    if (cfg.epoll || (cfg.churn && !ChurnUringSupported())) out = RunEpollClient(cfg, failure);
    else out = cfg.churn ? RunTcpChurnUringClient(cfg, failure) : RunTcpRrUringClient(cfg, failure);
  }
  if (cfg.nice != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(tid), oldNice);
  pthread_setaffinity_np(pthread_self(), sizeof old, &old);
  return out;
}

}  // namespace bench
