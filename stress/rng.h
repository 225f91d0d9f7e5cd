// The random streams of the stress workers: reproducible from a seed on
// every architecture, fast enough to pick an operation per call.
#pragma once

#include <cstdint>

namespace shmconform::stress {

// The splitmix64 finaliser: spreads a seed (or any value) over 64 bits.
std::uint64_t Mix64(std::uint64_t x);

// splitmix64-seeded xoshiro256**.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t Next();
  // Uniform in [0, n), n > 0.
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  std::uint64_t Between(std::uint64_t lo, std::uint64_t hi) { return lo + Below(hi - lo + 1); }
  bool OneIn(std::uint64_t n) { return Below(n) == 0; }

 private:
  std::uint64_t s_[4];
};

}  // namespace shmconform::stress
