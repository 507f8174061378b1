#include "bench_receivers.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <vector>

#include "bench_inject.hpp"

namespace bench {

bool ParseReceiverKind(const std::string& name, ReceiverKind* kind) {
  if (name == "recvmmsg") *kind = ReceiverKind::Recvmmsg;
  else if (name == "epoll") *kind = ReceiverKind::Epoll;
  else if (name == "epoll-1") *kind = ReceiverKind::Epoll1;
  else if (name == "uring") *kind = ReceiverKind::Uring;
  else if (name == "uring-recvmsg") *kind = ReceiverKind::UringRecvmsg;
  else return false;
  return true;
}

namespace {

struct MmsgBatch {
  std::vector<char> data;
  std::vector<iovec> iov;
  std::vector<mmsghdr> msgs;
  MmsgBatch(int batch, int size) : data(static_cast<size_t>(batch) * size), iov(batch), msgs(batch) {
    for (int i = 0; i < batch; i++) {
      iov[i] = {data.data() + static_cast<size_t>(i) * size, static_cast<size_t>(size)};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};

bool Transient(int err) { return err == EAGAIN || err == EINTR; }

// Reference: nonblocking recvmmsg on each socket in turn; poll() only when a whole round was empty.
void Recvmmsg(const ReceiverConfig& cfg, Counter& received, Failure& failure, const Stop& stop) {
  MmsgBatch b(cfg.batch, cfg.size);
  std::vector<pollfd> pfds;
  for (int fd : cfg.fds) pfds.push_back({fd, POLLIN, 0});
  pfds.push_back({stop.Fd(), POLLIN, 0});
  uint64_t total = 0;
  while (!stop.Requested()) {
    bool any = false;
    for (int fd : cfg.fds) {
      int n = recvmmsg(fd, b.msgs.data(), cfg.batch, MSG_DONTWAIT, nullptr);
      if (n > 0) {
        any = true;
        total += n;
        if (cfg.injectLoops) Spin(cfg.injectLoops * n);
        received.Publish(total);
      } else if (n < 0 && !Transient(errno)) {
        return failure.Record(errno, "recvmmsg");
      }
    }
    if (!any && poll(pfds.data(), pfds.size(), -1) < 0 && errno != EINTR) return failure.Record(errno, "poll");
  }
}

// epoll_wait with a large maxevents; `drain` empties each ready socket with recvmmsg, otherwise one
// recv per event (level-triggered: the socket is reported again while it has data).
void EpollLoop(const ReceiverConfig& cfg, bool drain, Counter& received, Failure& failure, const Stop& stop) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return failure.Record(errno, "epoll_create1");
  const uint32_t kStop = UINT32_MAX;
  auto add = [&](int fd, uint32_t data) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = data;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  for (size_t i = 0; i < cfg.fds.size(); i++) {
    if (add(cfg.fds[i], static_cast<uint32_t>(i)) < 0) {
      failure.Record(errno, "epoll_ctl");
      close(ep);
      return;
    }
  }
  if (add(stop.Fd(), kStop) < 0) failure.Record(errno, "epoll_ctl");
  MmsgBatch b(cfg.batch, cfg.size);
  std::vector<epoll_event> events(cfg.maxEvents);
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
      uint32_t idx = events[i].data.u32;
      if (idx == kStop) break;
      int fd = cfg.fds[idx];
      if (drain) {
        for (;;) {
          int got = recvmmsg(fd, b.msgs.data(), cfg.batch, MSG_DONTWAIT, nullptr);
          if (got < 0) {
            if (!Transient(errno)) failure.Record(errno, "recvmmsg");
            break;
          }
          total += got;
          if (got < cfg.batch) break;
        }
      } else {
        ssize_t got = recv(fd, b.data.data(), cfg.size, MSG_DONTWAIT);
        if (got >= 0) total++;
        else if (!Transient(errno)) failure.Record(errno, "recv");
      }
    }
    if (cfg.injectLoops) Spin(cfg.injectLoops * (total - before));
    received.Publish(total);
  }
  close(ep);
}

}  // namespace

void RunReceiver(ReceiverKind kind, const ReceiverConfig& cfg, Counter& received, Failure& failure, const Stop& stop) {
  switch (kind) {
    case ReceiverKind::Recvmmsg: return Recvmmsg(cfg, received, failure, stop);
    case ReceiverKind::Epoll: return EpollLoop(cfg, true, received, failure, stop);
    case ReceiverKind::Epoll1: return EpollLoop(cfg, false, received, failure, stop);
    case ReceiverKind::Uring: return RunUringRecv(cfg, false, received, failure, stop);
    case ReceiverKind::UringRecvmsg: return RunUringRecv(cfg, true, received, failure, stop);
  }
}

}  // namespace bench
