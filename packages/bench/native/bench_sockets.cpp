#include "bench_sockets.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace bench {

void InNetns(const std::string& netns, Failure& failure, const std::function<void()>& fn) {
  if (netns.empty()) {
    fn();
    return;
  }
  std::thread t([&] {
    int fd = open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failure.Record(errno, "open", netns);
    int r = setns(fd, CLONE_NEWNET);
    int err = errno;
    close(fd);
    if (r < 0) return failure.Record(err, "setns", netns);
    fn();
  });
  t.join();
}

namespace {
bool Address(const std::string& host, int port, sockaddr_in* sa, Failure& failure) {
  *sa = {};
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa->sin_addr) != 1) {
    failure.Record(EINVAL, "inet_pton", "not an IPv4 address: " + host);
    return false;
  }
  return true;
}
}  // namespace

std::vector<int> OpenBound(const Endpoint& at, int count, int port, int rcvbuf, Failure& failure) {
  std::vector<int> fds;
  InNetns(at.netns, failure, [&] {
    for (int i = 0; i < count && !failure.Failed(); i++) {
      int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return failure.Record(errno, "socket");
      fds.push_back(fd);
      if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
          setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
        return failure.Record(errno, "setsockopt", "SO_RCVBUF");
      }
      sockaddr_in sa;
      if (!Address(at.host, port == 0 ? 0 : port + i, &sa, failure)) return;
      if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        return failure.Record(errno, "bind", at.host + ":" + std::to_string(port == 0 ? 0 : port + i));
      }
    }
  });
  if (failure.Failed()) CloseAll(fds);
  return fds;
}

std::vector<int> OpenConnected(const Endpoint& from, const std::vector<sockaddr_in>& peers, bool nonblocking,
                               Failure& failure) {
  std::vector<int> fds;
  InNetns(from.netns, failure, [&] {
    for (const sockaddr_in& peer : peers) {
      int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
      if (fd < 0) return failure.Record(errno, "socket");
      fds.push_back(fd);
      sockaddr_in sa;
      if (!Address(from.host, 0, &sa, failure)) return;
      if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) return failure.Record(errno, "bind");
      if (connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) < 0) {
        return failure.Record(errno, "connect");
      }
    }
  });
  if (failure.Failed()) CloseAll(fds);
  return fds;
}

void ConnectEach(const std::vector<int>& socks, const std::vector<sockaddr_in>& peers, Failure& failure) {
  for (size_t i = 0; i < socks.size() && i < peers.size(); i++) {
    if (connect(socks[i], reinterpret_cast<const sockaddr*>(&peers[i]), sizeof peers[i]) < 0) {
      return failure.Record(errno, "connect");
    }
  }
}

std::vector<sockaddr_in> LocalAddresses(const std::vector<int>& socks, Failure& failure) {
  std::vector<sockaddr_in> out(socks.size());
  for (size_t i = 0; i < socks.size(); i++) {
    socklen_t len = sizeof out[i];
    if (getsockname(socks[i], reinterpret_cast<sockaddr*>(&out[i]), &len) < 0) {
      failure.Record(errno, "getsockname");
      break;
    }
  }
  return out;
}

void CloseAll(std::vector<int>& fds) {
  for (int fd : fds) close(fd);
  fds.clear();
}

int OpenSnmp(const std::string& netns, Failure& failure) {
  int fd = -1;
  // /proc/thread-self: the namespace of this thread, which InNetns may have switched.
  InNetns(netns, failure, [&] {
    fd = open("/proc/thread-self/net/snmp", O_RDONLY | O_CLOEXEC);
    if (fd < 0) failure.Record(errno, "open", "/proc/thread-self/net/snmp");
  });
  return fd;
}

}  // namespace bench
