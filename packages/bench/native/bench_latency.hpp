// Round-trip times of udp-rr transactions: a log-linear histogram (32 steps per power of two, so a
// bucket is at most ~3 % wide), one per client thread, merged after the run.
#pragma once
#include <bit>
#include <cstdint>
#include <vector>

namespace bench {

class LatencyHistogram {
 public:
  static constexpr int kSub = 32;
  LatencyHistogram() : counts_(64 * kSub, 0) {}
  void Record(uint64_t ns) { counts_[Index(ns)]++; }
  void Merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < counts_.size(); i++) counts_[i] += o.counts_[i];
  }
  uint64_t Total() const {
    uint64_t n = 0;
    for (uint64_t c : counts_) n += c;
    return n;
  }
  // The q-quantile (nearest rank), as the upper edge of its bucket; 0 when nothing was recorded.
  uint64_t Quantile(double q) const {
    uint64_t total = Total();
    if (total == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total));
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); i++) {
      seen += counts_[i];
      if (seen >= rank) return Upper(i);
    }
    return Upper(counts_.size() - 1);
  }

 private:
  static size_t Index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);  // >= 5
    int shift = msb - 5;
    return static_cast<size_t>((shift + 1) * kSub + ((v >> shift) & (kSub - 1)));
  }
  static uint64_t Upper(size_t i) {
    if (i < kSub) return i;
    size_t shift = i / kSub - 1;
    return ((kSub + (i % kSub) + 1) << shift) - 1;
  }
  std::vector<uint64_t> counts_;
};

}  // namespace bench
