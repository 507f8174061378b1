#include "bench_measure.hpp"

#include <errno.h>
#include <stdio.h>
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
  return plan.timing.cancel != nullptr && std::atomic_ref<int32_t>(*plan.timing.cancel).load(std::memory_order_relaxed) != 0;
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

// Waits until the count moves: the warm-up starts at the first delivered packet (or completed
// transaction or I/O), not at thread start. Under load a freshly created veth's carrier, a
// receiver thread or a neighbour lookup can take longer than a short warm-up, and a window with no
// traffic in it measures nothing. Fails the run, naming what did not arrive, after firstTimeout
// (0: do not wait, for a receiver that keeps its own count).
void AwaitFirst(const Plan& plan, Failure& failure) {
  if (plan.timing.firstTimeout <= 0) return;
  const int64_t deadline = MonotonicNs() + static_cast<int64_t>(plan.timing.firstTimeout * 1e9);
  const uint64_t base = plan.count();
  while (!failure.Failed() && !Cancelled(plan)) {
    if (plan.count() != base) return;
    if (MonotonicNs() >= deadline) {
      char why[160];
      snprintf(why, sizeof why, "nothing was counted within %g s of the start (secondary count %llu); is the path between the two ends up?",
               plan.timing.firstTimeout, static_cast<unsigned long long>(plan.secondary ? plan.secondary() : 0));
      return failure.Record(ETIMEDOUT, "bench", why);
    }
    timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

Window Measure(const Plan& plan, Failure& failure) {
  Window w;
  AwaitFirst(plan, failure);
  SleepUntil(MonotonicNs() + static_cast<int64_t>(plan.timing.warmup * 1e9), plan, failure);
  Snapshot start = Take(plan);
  if (plan.window) plan.window(true);
  const int64_t end = start.t + static_cast<int64_t>(plan.timing.seconds * 1e9);
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
