// Shared pieces of the native bench engine: stop signal, counters published by one writer, and
// the first error a bench thread hit (errno + syscall), reported to JS after the run.
#pragma once
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>

namespace bench {

// Written once per batch by its thread, read by the coordinator: a relaxed store is enough.
struct alignas(64) Counter {
  std::atomic<uint64_t> value{0};
  void Publish(uint64_t v) { value.store(v, std::memory_order_relaxed); }
  uint64_t Read() const { return value.load(std::memory_order_relaxed); }
};

// When a measured run starts, how long it lasts, and how JS ends it early.
struct Timing {
  double firstTimeout = 10;  // the count must move within this many seconds of the start (0: no wait)
  double warmup = 0.5;       // then this long before the window opens
  double seconds = 2;        // the window
  // Set (non-zero) by JS to end the run early, e.g. on SIGINT; read without locking.
  int32_t* cancel = nullptr;
};

struct Failure {
  std::atomic<bool> set{false};
  int err = 0;
  std::string syscall;
  std::string detail;
  // Keeps the first failure; later ones are consequences of it.
  void Record(int e, const char* call, std::string why = "") {
    bool expected = false;
    if (!set.compare_exchange_strong(expected, true)) return;
    err = e;
    syscall = call;
    detail = std::move(why);
  }
  bool Failed() const { return set.load(); }
};

// Threads blocked in poll/epoll_wait/io_uring_enter watch `fd` (an eventfd) as well as the flag.
class Stop {
 public:
  Stop() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Stop() {
    if (fd_ >= 0) close(fd_);
  }
  Stop(const Stop&) = delete;
  Stop& operator=(const Stop&) = delete;
  bool Valid() const { return fd_ >= 0; }
  int Fd() const { return fd_; }
  bool Requested() const { return flag_.load(std::memory_order_relaxed); }
  void Request() {
    flag_.store(true);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(fd_, &one, sizeof one);
  }

 private:
  int fd_;
  std::atomic<bool> flag_{false};
};

}  // namespace bench
