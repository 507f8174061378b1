#include "fd_registry.hpp"

#include <unistd.h>

FdRegistry::FdRegistry(napi_env env) : env_(env) {
  hooked_ = napi_add_env_cleanup_hook(env, CloseAll, this) == napi_ok;
}

FdRegistry::~FdRegistry() {
  if (hooked_) napi_remove_env_cleanup_hook(env_, CloseAll, this);
}

void FdRegistry::Own(int fd) noexcept {
  try {
    fds_.insert(fd);
  } catch (...) {
    // out of memory: this fd is not tracked (it still closes with its connection)
  }
}

void FdRegistry::Forget(int fd) noexcept { fds_.erase(fd); }

void FdRegistry::CloseAll(void* arg) noexcept {
  auto* self = static_cast<FdRegistry*>(arg);
  self->hooked_ = false;
  for (int fd : self->fds_) close(fd);
  self->fds_.clear();
}
