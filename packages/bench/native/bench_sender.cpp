#include "bench_sender.hpp"

#include <sys/socket.h>
#include <time.h>

#include <vector>

#include "bench_cpu.hpp"

namespace bench {

void RunSender(const SenderConfig& cfg, Counter& sent, Failure& failure, const Stop& stop) {
  std::vector<char> payload(cfg.size, 'r');
  std::vector<iovec> iov(cfg.batch);
  std::vector<mmsghdr> msgs(cfg.batch);
  for (int i = 0; i < cfg.batch; i++) {
    iov[i] = {payload.data(), payload.size()};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t total = 0;
  int64_t start = MonotonicNs();
  size_t next = 0;
  while (!stop.Requested()) {
    int fd = cfg.fds[next];
    next = next + 1 == cfg.fds.size() ? 0 : next + 1;
    int n = sendmmsg(fd, msgs.data(), cfg.batch, 0);
    if (n > 0) {
      total += n;
      sent.Publish(total);
    } else if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR) {
      return failure.Record(errno, "sendmmsg");
    }
    if (cfg.rate > 0) {
      // Sleep until the schedule catches up with what was sent.
      int64_t due = start + static_cast<int64_t>(static_cast<double>(total) * 1e9 / cfg.rate);
      if (due > MonotonicNs()) {
        timespec ts{due / 1000000000, due % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      }
    }
  }
}

}  // namespace bench
