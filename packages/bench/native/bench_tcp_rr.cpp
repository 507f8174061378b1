#include "bench_tcp_rr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bench {

namespace {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Conn {
  int fd = -1;
  int got = 0;
  uint64_t sentAt = 0;
};

// One request, whole (a blocking socket: `size` bytes fit the empty send buffer of an idle flow).
bool SendRequest(Conn& c, const std::vector<char>& req, Failure& failure, bool churn) {
  c.got = 0;
  if (!churn) c.sentAt = NowNs();
  if (send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    failure.Record(errno, "send");
    return false;
  }
  return true;
}

// A connected blocking socket in `ep` (event data: its index). Churn on loopback draws source
// addresses from 127.0.0.2–201, so the closed connections' TIME_WAIT never uses up the ports.
bool OpenConn(Conn& c, uint32_t index, int ep, const sockaddr_in& to, uint64_t serial, Failure& failure) {
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    failure.Record(errno, "socket");
    return false;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if ((ntohl(to.sin_addr.s_addr) >> 24) == 127) {
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(2 + serial % 200));
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&from), sizeof from) < 0) failure.Record(errno, "bind");
  }
  c.sentAt = NowNs();  // churn counts the connect in the transaction
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
    failure.Record(errno, "connect");
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = index;
  epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  return true;
}

double Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

TcpRrResult RunTcpRrClient(const TcpRrConfig& cfg, Failure& failure) {
  TcpRrResult out;
  cpu_set_t old;
  pthread_getaffinity_np(pthread_self(), sizeof old, &old);
  if (cfg.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cfg.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  std::vector<Conn> conns(cfg.connections);
  std::vector<char> req(cfg.size, 'q');
  std::vector<char> buf(std::max(cfg.size, 65536));
  std::vector<uint32_t> latencies;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(cfg.port));
  inet_pton(AF_INET, cfg.host.c_str(), &sa.sin_addr);
  uint64_t opened = 0;
  for (size_t i = 0; i < conns.size() && !failure.Failed(); i++) OpenConn(conns[i], static_cast<uint32_t>(i), ep, sa, opened++, failure);
  for (auto& c : conns) {
    if (failure.Failed() || !SendRequest(c, req, failure, cfg.churn)) break;
  }
  std::vector<epoll_event> events(1024);
  uint64_t start = NowNs();
  uint64_t measureFrom = start + static_cast<uint64_t>(cfg.warmup * 1e9);
  uint64_t end = measureFrom + static_cast<uint64_t>(cfg.seconds * 1e9);
  uint64_t now = start;
  while (!failure.Failed() && now < end) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) failure.Record(errno, "epoll_wait");
    now = NowNs();
    for (int i = 0; i < n && !failure.Failed(); i++) {
      Conn& c = conns[events[i].data.u32];
      ssize_t got = recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got == 0) failure.Record(ECONNRESET, "recv", "the server closed a connection");
      if (got < 0 && errno != EAGAIN && errno != EINTR) failure.Record(errno, "recv");
      if (got <= 0) continue;
      c.got += static_cast<int>(got);
      if (c.got < cfg.size) continue;  // a response arrives in pieces at larger sizes
      if (c.got > cfg.size) failure.Record(EPROTO, "recv", "the server answered more bytes than asked");
      if (now >= measureFrom) {
        out.transactions++;
        latencies.push_back(static_cast<uint32_t>(std::min<uint64_t>(now - c.sentAt, UINT32_MAX)));
      }
      if (cfg.churn) {
        close(c.fd);  // also leaves the epoll
        if (!OpenConn(c, events[i].data.u32, ep, sa, opened++, failure)) break;
      }
      SendRequest(c, req, failure, cfg.churn);
    }
  }
  out.seconds = static_cast<double>(std::min(now, end) - std::min(measureFrom, now)) / 1e9;
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  close(ep);
  if (!latencies.empty()) {
    out.maxUs = *std::max_element(latencies.begin(), latencies.end()) / 1000.0;
    out.p50Us = Percentile(latencies, 0.5);
    out.p99Us = Percentile(latencies, 0.99);
    out.p999Us = Percentile(latencies, 0.999);
  }
  pthread_setaffinity_np(pthread_self(), sizeof old, &old);
  return out;
}

}  // namespace bench
