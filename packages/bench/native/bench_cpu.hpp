// CPU time of the threads that work for a receiver, and thread pinning.
#pragma once
#include <pthread.h>
#include <sys/types.h>

#include <cstdint>
#include <map>

namespace bench {

// CPU time (user + system) of a thread of this process, in ns; -1 when it is gone.
int64_t ThreadCpuNs(pthread_t thread);
int64_t TidCpuNs(pid_t tid);

// io_uring's kernel threads of this process (io-wq "iou-wrk-*", SQPOLL "iou-sqp-*"): tid -> CPU ns.
std::map<pid_t, int64_t> IoUringWorkersCpuNs();

// Summed over the live threads of another process (/proc/<pid>/task/*/schedstat): ns on a CPU,
// and ns runnable but waiting for one (other processes had it). False when the process is gone.
struct SchedTimes {
  int64_t runNs = 0;
  int64_t waitNs = 0;
};
bool ProcessSchedTimes(pid_t pid, SchedTimes* out);

// CPU ns spent by io_uring workers between two snapshots (threads born in between count from 0).
int64_t WorkersDelta(const std::map<pid_t, int64_t>& before, const std::map<pid_t, int64_t>& after);

// Pins a thread to one CPU; cpu < 0 leaves it unpinned. Returns 0 or a positive errno.
int PinThread(pthread_t thread, int cpu);

int64_t MonotonicNs();

}  // namespace bench
