// What the benchmark programs share: a peer process forked once per
// benchmark run, page touching, the counters that turn raw counts into units
// a person reads, and main(). Futex waits come from shmconform/futex.h.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <benchmark/benchmark.h>

#include "shmconform/child.h"
#include "shmconform/owners.h"

namespace shmconform::bench {

// The cheapest "I am waiting for you" hint to the CPU while spinning.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// How long a blocked side sleeps before it checks that its peer still lives.
inline constexpr long kLivenessCheckNs = 100'000'000;

// The other process of a two-process benchmark, forked once per benchmark
// run (never per iteration). The body runs in the child, which dies with the
// parent (PR_SET_PDEATHSIG) and reports failures with CHILD_CHECK. A peer
// never finished is killed and reaped by the destructor, so every exit path
// of a benchmark cleans up.
class Peer {
 public:
  static Peer Start(const std::function<void()>& body);
  bool started() const { return child_.pid() > 0; }
  // False once the child has ended (it is not reaped, so Finish still reports why).
  bool Alive() const;
  // Waits for the child; "" when it exited with 0, else how it ended.
  std::string Finish();
  // After a failed exchange: how the child ended, or that it still runs (it
  // is then killed by the destructor, never waited for here).
  std::string Diagnose();

 private:
  explicit Peer(AsyncChild child) : child_(std::move(child)) {}
  AsyncChild child_;
};

// Memory shared with a forked peer: MAP_SHARED|MAP_ANONYMOUS, i.e. shmem
// pages like a POSIX or System V segment, but with no name that could be
// left behind. Prefaulted so no benchmark times its first touch.
std::optional<Mapping> SharedMemory(std::size_t length);

// Private anonymous memory, prefaulted (a source or destination buffer).
std::optional<Mapping> PrivateMemory(std::size_t length);

// Reads (sums) or writes one byte in every page of [p, p + length).
std::uint64_t ReadEveryPage(const volatile char* p, std::size_t length);
void WriteEveryPage(volatile char* p, std::size_t length, char value);

// Sets "pages/s" (a rate) and "time/page" (seconds) from the number of pages
// handled in all iterations.
void SetPageCounters(benchmark::State& state, double pages_total);

// Fails the benchmark with "what: <errno name>" (from the current errno).
void SkipWithErrno(benchmark::State& state, const std::string& what);

// Runs the benchmarks with context a report needs: kernel release, page
// size, CPU count. Each bench-<topic> binary's main().
int BenchMain(int argc, char** argv);

}  // namespace shmconform::bench

#define SHMCONFORM_BENCH_MAIN() \
  int main(int argc, char** argv) { return ::shmconform::bench::BenchMain(argc, argv); }
