// Credentials recorded per ring, and the process-wide count of reported changes.
#include "credentials.hpp"

#include <unistd.h>

#include <atomic>

namespace {

// Process-wide on purpose: credentials belong to the process (Node's setuid changes every thread),
// so a change reported by the main thread must reach the rings of every worker.
std::atomic<uint32_t> epoch{0};

Napi::Value Changed(const Napi::CallbackInfo& info) {
  epoch.fetch_add(1, std::memory_order_release);
  return info.Env().Undefined();
}

}  // namespace

Credentials Credentials::Current() {
  Credentials c;
  getresuid(&c.ruid, &c.euid, &c.suid);
  getresgid(&c.rgid, &c.egid, &c.sgid);
  int n = getgroups(0, nullptr);
  if (n > 0) {
    c.groups.resize(static_cast<size_t>(n));
    n = getgroups(n, c.groups.data());
    c.groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return c;
}

bool Credentials::operator==(const Credentials& o) const {
  return ruid == o.ruid && euid == o.euid && suid == o.suid && rgid == o.rgid && egid == o.egid &&
         sgid == o.sgid && groups == o.groups;
}

CredentialCheck::CredentialCheck() : creds_(Credentials::Current()), epoch_(epoch.load(std::memory_order_acquire)) {}

bool CredentialCheck::Unchanged() {
  uint32_t now = epoch.load(std::memory_order_acquire);
  if (now == epoch_ || allow_) return true;
  if (!(Credentials::Current() == creds_)) return false;
  epoch_ = now;  // changed and changed back (seteuid), or set to what they were
  return true;
}

Napi::Object CredentialsInit(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("changed", Napi::Function::New<Changed>(env, "changed"));
  return o;
}
