#include "latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace shmconform::stress {

unsigned BucketOf(std::uint64_t ns) {
  if (ns < 16) return static_cast<unsigned>(ns);
  const int msb = 63 - __builtin_clzll(ns);
  const unsigned sub = static_cast<unsigned>((ns >> (msb - 3)) & 7);
  return 16 + static_cast<unsigned>(msb - 4) * 8 + sub;
}

std::uint64_t BucketValue(unsigned b) {
  if (b < 16) return b;
  const unsigned msb = (b - 16) / 8 + 4, sub = (b - 16) % 8;
  const std::uint64_t low = (std::uint64_t{8} + sub) << (msb - 3);
  return low + ((std::uint64_t{1} << (msb - 3)) >> 1);  // the bucket's middle
}

std::uint64_t Percentile(const std::vector<std::uint64_t>& histogram, std::uint64_t count, double q) {
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count)));
  std::uint64_t seen = 0;
  for (unsigned b = 0; b < kBuckets && b < histogram.size(); ++b) {
    seen += histogram[b];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return BucketValue(b);
  }
  return 0;
}

}  // namespace shmconform::stress
