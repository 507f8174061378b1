#include "bench_tcp_rr_run.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bench_cpu.hpp"

namespace bench {

namespace {

double Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

uint64_t NowNs() { return static_cast<uint64_t>(MonotonicNs()); }

sockaddr_in ServerAddress(const TcpRrConfig& cfg) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(cfg.port));
  inet_pton(AF_INET, cfg.host.c_str(), &sa.sin_addr);
  return sa;
}

bool InitClientRing(io_uring* ring, unsigned entries, Failure& failure) {
  unsigned flags = 0;
  int r = InitRing(ring, std::min(PowerOfTwoAtLeast(entries), 32768u), 0, &flags);
  if (r < 0) failure.Record(-r, "io_uring_setup");
  return r == 0;
}

bool SendRequest(RrRun& run, RrConn& c, uint64_t sentAt, size_t size, Failure& failure) {
  const char* req = run.Request(c, sentAt);
  if (send(c.fd, req, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
    failure.Record(errno, "send");
    return false;
  }
  return true;
}

int ConnectTcp(const sockaddr_in& to, uint64_t serial, Failure& failure) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    failure.Record(errno, "socket");
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if ((ntohl(to.sin_addr.s_addr) >> 24) == 127) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(2 + serial % 200));
    if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) < 0) failure.Record(errno, "bind");
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
    failure.Record(errno, "connect");
    close(fd);
    return -1;
  }
  return fd;
}

RrRun::RrRun(const TcpRrConfig& cfg, uint64_t start) : cfg_(cfg), pattern_(static_cast<size_t>(cfg.size) + 256), start_(start) {
  for (size_t i = 0; i < pattern_.size(); i++) pattern_[i] = static_cast<char>(i);
}

const char* RrRun::Request(RrConn& c, uint64_t sentAt) {
  c.got = 0;
  c.waiting = true;
  c.sentAt = sentAt;
  requests_++;
  return pattern_.data() + (c.seq++ % 256);
}

bool RrRun::Received(RrConn& c, const char* data, size_t len, uint64_t now, Failure& failure) {
  const size_t size = static_cast<size_t>(cfg_.size);
  if (!c.waiting || c.got + len > size) {
    failure.Record(EPROTO, "recv", "the server answered more bytes than asked");
    return false;
  }
  if (std::memcmp(data, pattern_.data() + (c.seq - 1) % 256 + c.got, len) != 0) {
    failure.Record(EPROTO, "recv", "a response differs from its request");
    return false;
  }
  bytes_ += len;
  c.got += static_cast<unsigned>(len);
  if (c.got < size) return false;  // a response arrives in pieces at larger sizes
  c.waiting = false;
  responses_++;
  if (firstAt_ == 0) firstAt_ = now;
  if (inWindow_) {
    transactions_++;
    latencies_.push_back(static_cast<uint32_t>(std::min<uint64_t>(now - c.sentAt, UINT32_MAX)));
  }
  return true;
}

bool RrRun::Tick(uint64_t now, Failure& failure) {
  if (firstAt_ == 0) {
    if (now - start_ < static_cast<uint64_t>(cfg_.firstTimeout * 1e9)) return true;
    char why[96];
    snprintf(why, sizeof why, "no response within %g s of the start (%llu requests sent)", cfg_.firstTimeout,
             static_cast<unsigned long long>(requests_));
    failure.Record(ETIMEDOUT, "bench", why);
    return false;
  }
  if (windowStart_ == 0 && now >= firstAt_ + static_cast<uint64_t>(cfg_.warmup * 1e9)) {
    windowStart_ = now;
    inWindow_ = true;
    serverSeen_ = cfg_.serverPid > 0 && ProcessSchedTimes(cfg_.serverPid, &server_);
    clientCpu_ = ThreadCpuNs(pthread_self());
  }
  // A window holds at least one transaction (a loaded host can stall a server for a short window);
  // the stalled transaction's latency shows it.
  if (inWindow_ && now >= windowStart_ + static_cast<uint64_t>(cfg_.seconds * 1e9) &&
      (transactions_ > 0 || now >= windowStart_ + static_cast<uint64_t>(cfg_.firstTimeout * 1e9))) {
    windowEnd_ = now;
    inWindow_ = false;
    SchedTimes end;
    serverSeen_ = serverSeen_ && ProcessSchedTimes(cfg_.serverPid, &end);
    server_ = {end.runNs - server_.runNs, end.waitNs - server_.waitNs};
    clientCpu_ = ThreadCpuNs(pthread_self()) - clientCpu_;
  }
  if (windowEnd_ == 0) return true;
  return requests_ > responses_ && now < windowEnd_ + static_cast<uint64_t>(cfg_.drain * 1e9);
}

TcpRrResult RrRun::Finish(TcpRrResult out) {
  out.transactions = transactions_;
  if (windowEnd_ == 0) {  // failed or cancelled before the window ended
    out.seconds = windowStart_ == 0 ? 0 : static_cast<double>(NowNs() - windowStart_) / 1e9;
  } else {
    out.seconds = static_cast<double>(windowEnd_ - windowStart_) / 1e9;
    out.clientCpuNs = clientCpu_;
    if (serverSeen_) {
      out.serverCpuNs = server_.runNs;
      out.serverWaitNs = server_.waitNs;
    }
  }
  out.requests = requests_;
  out.responses = responses_;
  out.bytes = bytes_;
  if (!latencies_.empty()) {
    out.maxUs = *std::max_element(latencies_.begin(), latencies_.end()) / 1000.0;
    out.p50Us = Percentile(latencies_, 0.5);
    out.p99Us = Percentile(latencies_, 0.99);
    out.p999Us = Percentile(latencies_, 0.999);
  }
  return out;
}

bool EnterAndTick(io_uring* ring, bool spin, RrRun& run, uint64_t* now, Failure& failure) {
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{0, 100'000'000};  // the phases move on at least every 100 ms
  // Spinning, the client never sleeps, so a server's send never has to wake it.
  int r = spin ? io_uring_submit_and_get_events(ring) : io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
  if (r < 0 && r != -ETIME && r != -EINTR) {
    failure.Record(-r, "io_uring_enter");
    return false;
  }
  *now = NowNs();
  return run.Tick(*now, failure);
}

}  // namespace bench
