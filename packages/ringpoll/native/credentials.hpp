// Credentials: an io_uring instance's kernel threads keep the credentials they started with (the
// SQPOLL thread the creator's, io-wq workers those of the thread that started them), so a ring made
// before a privilege drop can keep the old privileges (the lesson of libuv's CVE-2024-22017). Each Ring
// records the ids at creation; lib/ says when they may have changed (process.setuid & co.).
#pragma once
#include <napi.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

struct Credentials {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  std::vector<gid_t> groups;

  static Credentials Current();
  bool operator==(const Credentials& o) const;
};

// Per ring: the ids it was made with, and whether they still hold. Unchanged() costs one atomic
// load while nothing was reported; after a report it compares the ids once (three syscalls).
class CredentialCheck {
 public:
  CredentialCheck();
  bool Unchanged();
  void Allow() { allow_ = true; }

 private:
  Credentials creds_;
  uint32_t epoch_;
  bool allow_ = false;
};

// credentials: { changed() }: lib/ calls changed() after every call that may have changed them.
Napi::Object CredentialsInit(Napi::Env env);
