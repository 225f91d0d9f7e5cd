// The log-linear latency histogram of each worker and operation: 16 exact
// buckets for 0..15 ns, then 8 per power of two (within ±6%). Fixed-size
// counters, so it lives in the shared state without allocation.
#pragma once

#include <cstdint>
#include <vector>

namespace shmconform::stress {

inline constexpr unsigned kBuckets = 512;

unsigned BucketOf(std::uint64_t ns);
// The middle of bucket b, in ns.
std::uint64_t BucketValue(unsigned b);
// The q-quantile (0 < q <= 1) of a histogram holding `count` samples.
std::uint64_t Percentile(const std::vector<std::uint64_t>& histogram, std::uint64_t count, double q);

}  // namespace shmconform::stress
