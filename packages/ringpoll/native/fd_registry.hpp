// The fds a TCP server owns (its listening socket and every accepted connection) in one
// environment. Its env cleanup hook closes whatever is still open, so a worker terminated mid-traffic
// leaves no socket behind; closing through the addon (fd.close) drops an fd from it.
#pragma once
#include <node_api.h>

#include <unordered_set>

class FdRegistry {
 public:
  explicit FdRegistry(napi_env env);
  ~FdRegistry();
  FdRegistry(const FdRegistry&) = delete;
  FdRegistry& operator=(const FdRegistry&) = delete;

  void Own(int fd) noexcept;
  void Forget(int fd) noexcept;

 private:
  // Registered when the addon loads, before any Ring or Epoll: hooks run in reverse order, so this
  // one runs after every ring has drained (no request still names one of these fds).
  static void CloseAll(void* arg) noexcept;

  napi_env env_;
  bool hooked_ = false;
  std::unordered_set<int> fds_;
};
