// --inject-percent: a calibrated amount of extra per-packet work, so a comparison can prove it
// detects a known small slowdown.
#pragma once
#include <cstdint>

namespace bench {

// Busy work the compiler cannot remove: `loops` dependent multiply-adds.
uint64_t Spin(uint64_t loops);

// Loops that take about `ns` nanoseconds on this CPU (measured once per process, on first use).
uint64_t LoopsForNs(double ns);

}  // namespace bench
