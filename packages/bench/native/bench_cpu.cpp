#include "bench_cpu.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace bench {

namespace {

// The kernel's encoding of a per-thread CPU clock (include/linux/posix-timers.h): CPUCLOCK_SCHED
// is the precise sum_exec_runtime, readable for any thread of our own thread group.
clockid_t ThreadClock(pid_t tid) { return static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 4 | 2); }

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return -1;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int64_t ThreadCpuNs(pthread_t thread) {
  clockid_t clock;
  if (pthread_getcpuclockid(thread, &clock) != 0) return -1;
  return ClockNs(clock);
}

int64_t TidCpuNs(pid_t tid) { return ClockNs(ThreadClock(tid)); }

std::map<pid_t, int64_t> IoUringWorkersCpuNs() {
  std::map<pid_t, int64_t> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string path = std::string("/proc/self/task/") + e->d_name + "/comm";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char comm[32] = {};
    ssize_t n = read(fd, comm, sizeof comm - 1);
    close(fd);
    if (n <= 0 || (std::strncmp(comm, "iou-wrk-", 8) != 0 && std::strncmp(comm, "iou-sqp-", 8) != 0)) continue;
    pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    int64_t ns = TidCpuNs(tid);
    if (ns >= 0) out[tid] = ns;
  }
  closedir(dir);
  return out;
}

bool ProcessSchedTimes(pid_t pid, SchedTimes* out) {
  std::string dirPath = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(dirPath.c_str());
  if (dir == nullptr) return false;
  *out = SchedTimes{};
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = open((dirPath + "/" + e->d_name + "/schedstat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // the thread exited between the listing and the open
    char text[96] = {};
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) continue;
    char* end = nullptr;
    out->runNs += std::strtoll(text, &end, 10);
    out->waitNs += std::strtoll(end, nullptr, 10);
  }
  closedir(dir);
  return true;
}

int64_t WorkersDelta(const std::map<pid_t, int64_t>& before, const std::map<pid_t, int64_t>& after) {
  int64_t sum = 0;
  for (const auto& [tid, ns] : after) {
    auto it = before.find(tid);
    sum += ns - (it == before.end() ? 0 : it->second);
  }
  return sum;
}

int PinThread(pthread_t thread, int cpu) {
  if (cpu < 0) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(thread, sizeof set, &set);
}

int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }

}  // namespace bench
