#include "bench_inject.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "bench_cpu.hpp"

namespace bench {

uint64_t Spin(uint64_t loops) {
  uint64_t x = loops | 1;
  for (uint64_t i = 0; i < loops; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
  return x;
}

namespace {
std::once_flag calibrated;
double loopsPerNs = 0;

// Best of several short timings: the fastest is the one least disturbed by other work.
void Calibrate() {
  constexpr uint64_t kLoops = 2000000;
  int64_t best = INT64_MAX;
  for (int i = 0; i < 7; i++) {
    int64_t t0 = MonotonicNs();
    Spin(kLoops);
    best = std::min(best, MonotonicNs() - t0);
  }
  loopsPerNs = static_cast<double>(kLoops) / static_cast<double>(std::max<int64_t>(best, 1));
}
}  // namespace

uint64_t LoopsForNs(double ns) {
  if (ns <= 0) return 0;
  std::call_once(calibrated, Calibrate);
  return static_cast<uint64_t>(ns * loopsPerNs + 0.5);
}

}  // namespace bench
