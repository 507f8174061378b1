#include "bench_measure.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "bench_cpu.hpp"

namespace bench {

namespace {

struct Snapshot {
  int64_t t = 0;
  uint64_t count = 0;
  uint64_t secondary = 0;
  int64_t cpuNs = 0;
  std::map<pid_t, int64_t> workers;
  UdpCounters snmp;
};

Snapshot Take(const Plan& plan) {
  Snapshot s;
  if (plan.snmpFd >= 0) s.snmp = ReadUdpCounters(plan.snmpFd);
  s.count = plan.count();
  s.secondary = plan.secondary ? plan.secondary() : 0;
  s.t = MonotonicNs();
  for (pthread_t t : plan.receiverThreads) s.cpuNs += std::max<int64_t>(ThreadCpuNs(t), 0);
  if (plan.ioUringWorkers) s.workers = IoUringWorkersCpuNs();
  return s;
}

bool Cancelled(const Plan& plan) {
  return plan.cancel != nullptr && std::atomic_ref<int32_t>(*plan.cancel).load(std::memory_order_relaxed) != 0;
}

// Sleeps until `until` (monotonic ns) in short steps so a failed or cancelled run ends promptly.
bool SleepUntil(int64_t until, const Plan& plan, const Failure& failure) {
  while (!failure.Failed() && !Cancelled(plan)) {
    int64_t now = MonotonicNs();
    if (now >= until) return true;
    int64_t step = std::min<int64_t>(until - now, 50000000);
    timespec ts{step / 1000000000, step % 1000000000};
    nanosleep(&ts, nullptr);
  }
  return false;
}

}  // namespace

Window Measure(const Plan& plan, const Failure& failure) {
  Window w;
  SleepUntil(MonotonicNs() + static_cast<int64_t>(plan.warmup * 1e9), plan, failure);
  Snapshot start = Take(plan);
  if (plan.window) plan.window(true);
  const int64_t end = start.t + static_cast<int64_t>(plan.seconds * 1e9);
  int64_t lastT = start.t;
  uint64_t lastCount = start.count;
  while (!failure.Failed()) {
    bool full = SleepUntil(std::min(lastT + 1000000000, end), plan, failure);
    int64_t now = MonotonicNs();
    uint64_t c = plan.count();
    if (now > lastT) w.samples.push_back(static_cast<double>(c - lastCount) * 1e9 / static_cast<double>(now - lastT));
    lastT = now;
    lastCount = c;
    if (now >= end || !full) break;
  }
  if (plan.window) plan.window(false);
  Snapshot stop = Take(plan);
  w.count = stop.count - start.count;
  w.secondary = stop.secondary - start.secondary;
  w.seconds = static_cast<double>(stop.t - start.t) / 1e9;
  w.cpuNs = stop.cpuNs - start.cpuNs + WorkersDelta(start.workers, stop.workers);
  w.before = start.snmp;
  w.after = stop.snmp;
  return w;
}

}  // namespace bench
