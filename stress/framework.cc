#include "framework.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "shmconform/errno_names.h"
#include "shmconform/owners.h"
#include "shmconform/unique_names.h"

namespace shmconform::stress {

// ---------------------------------------------------------------- random

std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = seed = Mix64(seed);
}

std::uint64_t Rng::Next() {
  auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string CheckMemory(std::uint64_t bytes, const std::string& what) {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return "";
  const std::uint64_t half = static_cast<std::uint64_t>(pages) / 2 * static_cast<std::uint64_t>(size);
  if (bytes > half) return what + " (" + std::to_string(bytes) + " bytes) exceeds half the physical memory";
  return "";
}

// ---------------------------------------------------------------- shared state

namespace {

constexpr unsigned kBuckets = 512;
constexpr unsigned kMaxMessages = 8;
constexpr std::size_t kMessageLen = 700;

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

}  // namespace

struct WorkerStats {
  std::uint64_t ops;
  std::uint64_t expected_failures;
  std::uint32_t hist[kMaxOpTypes][kBuckets];
};

struct SharedState {
  std::atomic<int> stop;
  std::atomic<std::uint32_t> violations;
  std::atomic<std::uint32_t> messages_used;
  char messages[kMaxMessages][kMessageLen];
  std::uint64_t deadline_ns;
  pid_t parent_pid;
  pid_t worker_pids[kMaxWorkers];
  WorkerStats workers[kMaxWorkers];
};

namespace {

const char* g_binary = "stress";

void RecordViolation(SharedState* s, const char* text) {
  s->violations.fetch_add(1);
  const std::uint32_t slot = s->messages_used.fetch_add(1);
  if (slot < kMaxMessages) {
    std::strncpy(s->messages[slot], text, kMessageLen - 1);
    s->messages[slot][kMessageLen - 1] = '\0';
  }
  s->stop.store(1);
  // Straight to stderr as well, so a hung or killed run still says why.
  const std::size_t len = std::strlen(text);
  [[maybe_unused]] ssize_t ignored = write(2, text, len);
  ignored = write(2, "\n", 1);
}

}  // namespace

// ---------------------------------------------------------------- Run

key_t Run::KeyFor(unsigned slot) const { return static_cast<key_t>(static_cast<std::uint32_t>(key_base_) + slot); }

std::string Run::ShmName(const std::string& tag) const { return "/" + name_prefix_ + tag; }

void* Run::SharedAlloc(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "%s: cannot allocate %zu bytes of shared memory: %s\n", g_binary, bytes,
                 DescribeErrno(errno).c_str());
    std::exit(kExitViolation);
  }
  allocations_.emplace_back(p, bytes);
  return p;
}

void Run::Fail(const char* fmt, ...) {
  char msg[kMessageLen - 120];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char text[kMessageLen];
  std::snprintf(text, sizeof text, "%s: VIOLATION seed=%" PRIu64 " (parent): %s", g_binary, config_->seed, msg);
  RecordViolation(shared_, text);
}

std::vector<pid_t> Run::WorkerPids() const {
  return std::vector<pid_t>(shared_->worker_pids, shared_->worker_pids + config_->workers);
}

// ---------------------------------------------------------------- Worker

Worker::Worker(Run& run, unsigned index)
    : run_(run), index_(index), rng_(Mix64(run.config().seed) ^ Mix64(0x5743ull + index)) {
  const Config& c = run.config();
  if (c.ops) budget_ = c.ops / c.workers + (index < c.ops % c.workers ? 1 : 0);
  deadline_ns_ = run.shared()->deadline_ns;
}

bool Worker::Stopping() const { return run_.shared()->stop.load(std::memory_order_relaxed) != 0; }

bool Worker::Running() {
  if (Stopping()) return false;
  if (budget_ && op_number_ >= budget_) return false;
  if (deadline_ns_) {
    if (!now_ns_) now_ns_ = MonotonicNs();
    if (now_ns_ >= deadline_ns_) return false;
  }
  return true;
}

void Worker::Begin(unsigned op) {
  current_op_ = op;
  begin_ns_ = MonotonicNs();
}

void Worker::End() {
  now_ns_ = MonotonicNs();
  WorkerStats& st = run_.shared()->workers[index_];
  st.hist[current_op_][BucketOf(now_ns_ - begin_ns_)]++;
  st.ops++;
  op_number_++;
}

void Worker::ExpectedFailure() { run_.shared()->workers[index_].expected_failures++; }

void Worker::VFail(const char* fmt, va_list ap) {
  char msg[kMessageLen - 160];
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  char text[kMessageLen];
  const auto& names = run_.def().op_names;
  std::snprintf(text, sizeof text, "%s: VIOLATION seed=%" PRIu64 " worker=%u op#%" PRIu64 " (%s): %s", g_binary,
                run_.config().seed, index_, op_number_, current_op_ < names.size() ? names[current_op_] : "?", msg);
  RecordViolation(run_.shared(), text);
  _exit(kExitViolation);
}

void Worker::Fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VFail(fmt, ap);
}

namespace {
std::string Format(const char* fmt, va_list ap) {
  char buf[400];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  return buf;
}
}  // namespace

long Worker::CheckOk(long rv, const char* fmt, ...) {
  if (rv != -1) return rv;
  const int err = errno;
  va_list ap;
  va_start(ap, fmt);
  const std::string call = Format(fmt, ap);
  va_end(ap);
  Fail("%s failed with %s, expected success", call.c_str(), ErrnoName(err).c_str());
}

void Worker::CheckErrno(long rv, int expected, const char* fmt, ...) {
  const int err = errno;
  if (rv == -1 && err == expected) {
    ExpectedFailure();
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  const std::string call = Format(fmt, ap);
  va_end(ap);
  if (rv != -1) Fail("%s succeeded (returned %ld), expected failure with %s", call.c_str(), rv, ErrnoName(expected).c_str());
  Fail("%s failed with %s, expected %s", call.c_str(), ErrnoName(err).c_str(), ErrnoName(expected).c_str());
}

bool Worker::CheckOkOrErrno(long rv, std::initializer_list<int> allowed, const char* fmt, ...) {
  if (rv != -1) return true;
  const int err = errno;
  if (std::find(allowed.begin(), allowed.end(), err) != allowed.end()) {
    ExpectedFailure();
    return false;
  }
  va_list ap;
  va_start(ap, fmt);
  const std::string call = Format(fmt, ap);
  va_end(ap);
  std::string names;
  for (int e : allowed) names += (names.empty() ? "" : " or ") + ErrnoName(e);
  Fail("%s failed with %s, expected success or %s", call.c_str(), ErrnoName(err).c_str(), names.c_str());
}

// ---------------------------------------------------------------- SharedLock

namespace {
long Futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t val, const timespec* ts) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, val, ts, nullptr, 0);
}
}  // namespace

bool SharedLock::Lock(Worker& w) {
  std::uint32_t c = 0;
  if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return true;
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    if (w.Stopping()) return false;
    const timespec ts{0, 50'000'000};
    Futex(&state_, FUTEX_WAIT, 2, &ts);
    c = state_.exchange(2, std::memory_order_acquire);
  }
  return true;
}

void SharedLock::Lock() {
  std::uint32_t c = 0;
  if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    Futex(&state_, FUTEX_WAIT, 2, nullptr);
    c = state_.exchange(2, std::memory_order_acquire);
  }
}

void SharedLock::Unlock() {
  if (state_.fetch_sub(1, std::memory_order_release) != 1) {
    state_.store(0, std::memory_order_release);
    Futex(&state_, FUTEX_WAKE, 1, nullptr);
  }
}

bool SharedRwLock::LockShared(Worker& w) {
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (!(s & (kWriter | kPending))) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire)) return true;
      continue;
    }
    if (w.Stopping()) return false;
    const timespec ts{0, 50'000'000};
    Futex(&state_, FUTEX_WAIT, s, &ts);
  }
}

void SharedRwLock::UnlockShared() {
  if (((state_.fetch_sub(1, std::memory_order_release) - 1) & ~kPending) == 0)
    Futex(&state_, FUTEX_WAKE, INT32_MAX, nullptr);
}

bool SharedRwLock::LockExclusive(Worker& w) {
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & ~kPending) == 0) {
      if (state_.compare_exchange_weak(s, kWriter, std::memory_order_acquire)) return true;
      continue;
    }
    if (!(s & kPending)) {
      state_.fetch_or(kPending, std::memory_order_relaxed);
      continue;
    }
    if (w.Stopping()) return false;
    const timespec ts{0, 50'000'000};
    Futex(&state_, FUTEX_WAIT, s, &ts);
  }
}

void SharedRwLock::UnlockExclusive() {
  state_.fetch_and(~kWriter, std::memory_order_release);
  Futex(&state_, FUTEX_WAKE, INT32_MAX, nullptr);
}

// ---------------------------------------------------------------- patterns

std::uint64_t PatternWord(std::uint64_t tag, std::size_t word) {
  return (tag ^ (static_cast<std::uint64_t>(word) * 0x9e3779b97f4a7c15ull)) | 1;  // never all-zero
}

unsigned char PatternByte(std::uint64_t tag, std::size_t offset) {
  const std::uint64_t w = PatternWord(tag, offset / 8);
  unsigned char b[8];
  std::memcpy(b, &w, 8);
  return b[offset % 8];
}

void FillPattern(void* mem, std::size_t bytes, std::uint64_t tag) {
  auto* p = static_cast<unsigned char*>(mem);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t w = PatternWord(tag, i);
    std::memcpy(p + i * 8, &w, 8);
  }
  for (std::size_t off = words * 8; off < bytes; ++off) p[off] = PatternByte(tag, off);
}

long VerifyPattern(const void* mem, std::size_t bytes, std::uint64_t tag) {
  const auto* p = static_cast<const unsigned char*>(mem);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, p + i * 8, 8);
    if (w != PatternWord(tag, i)) {
      for (std::size_t off = i * 8;; ++off)
        if (p[off] != PatternByte(tag, off)) return static_cast<long>(off);
    }
  }
  for (std::size_t off = words * 8; off < bytes; ++off)
    if (p[off] != PatternByte(tag, off)) return static_cast<long>(off);
  return -1;
}

long VerifyZero(const void* mem, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(mem);
  for (std::size_t i = 0; i < bytes; ++i)
    if (p[i]) return static_cast<long>(i);
  return -1;
}

// ---------------------------------------------------------------- fault probes

namespace {
sigjmp_buf g_probe_jmp;
volatile sig_atomic_t g_probing = 0;
volatile int g_fault_sig = 0, g_fault_code = 0;
volatile std::uintptr_t g_fault_addr = 0;
pid_t g_handlers_pid = 0;

void ProbeHandler(int sig, siginfo_t* info, void*) {
  if (!g_probing) {
    signal(sig, SIG_DFL);  // a real crash: let it happen again, unhandled
    return;
  }
  g_fault_sig = sig;
  g_fault_code = info->si_code;
  g_fault_addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  g_probing = 0;
  siglongjmp(g_probe_jmp, 1);
}

void EnsureProbeHandlers() {
  if (g_handlers_pid == getpid()) return;
  struct sigaction sa {};
  sa.sa_sigaction = ProbeHandler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
  g_handlers_pid = getpid();
}
}  // namespace

Fault ProbeWrite(volatile char* addr, char value) {
  EnsureProbeHandlers();
  g_fault_sig = 0;
  if (sigsetjmp(g_probe_jmp, 1) == 0) {
    g_probing = 1;
    *addr = value;
    g_probing = 0;
    return {};
  }
  return Fault{g_fault_sig, g_fault_code, g_fault_addr};
}

Fault ProbeRead(const volatile char* addr, char* value_out) {
  EnsureProbeHandlers();
  g_fault_sig = 0;
  if (sigsetjmp(g_probe_jmp, 1) == 0) {
    g_probing = 1;
    *value_out = *addr;
    g_probing = 0;
    return {};
  }
  return Fault{g_fault_sig, g_fault_code, g_fault_addr};
}

std::string DescribeFault(const Fault& f) {
  if (!f.signal) return "no fault";
  char buf[64];
  std::snprintf(buf, sizeof buf, " at %#" PRIxPTR, f.address);
  return SignalName(f.signal) + "/" + SiCodeName(f.signal, f.si_code) + buf;
}

// ---------------------------------------------------------------- options

namespace {

bool ParseU64(const std::string& text, bool suffixes, std::uint64_t* out) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (errno || end == text.c_str()) return false;
  std::uint64_t mult = 1;
  if (suffixes && *end) {
    switch (*end) {
      case 'k': case 'K': mult = 1ull << 10; break;
      case 'm': case 'M': mult = 1ull << 20; break;
      case 'g': case 'G': mult = 1ull << 30; break;
      default: return false;
    }
    ++end;
  }
  if (*end) return false;
  if (v > UINT64_MAX / mult) return false;
  *out = v * mult;
  return true;
}

[[noreturn]] void UsageError(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void UsageError(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "%s: invalid option: ", g_binary);
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, " (see --help)\n");
  va_end(ap);
  std::exit(kExitUsage);
}

void PrintHelp(const ScenarioDef& def) {
  std::printf("usage: %s [options]\n%s\n\n", g_binary, def.summary);
  std::printf("  --duration=SECONDS  run this long (default 10 unless --ops is given)\n");
  std::printf("  --ops=N             stop after N verified operations in total\n");
  std::printf("  --workers=N         worker processes (default: online CPUs; %u..%u)\n", def.min_workers, kMaxWorkers);
  std::printf("  --seed=S            seed of every worker's operation sequence (default: random)\n");
  std::printf("  --json              one JSON object with the results on stdout\n");
  for (const auto& o : def.options)
    std::printf("  --%s=N%*s%s (default %" PRIu64 ", %" PRIu64 "..%" PRIu64 ")\n", o.name,
                std::max(1, 17 - static_cast<int>(std::strlen(o.name))), "", o.help, o.default_value, o.min, o.max);
  if (!def.injections.empty()) {
    std::printf("  --inject=FAULT      test only: break the run on purpose to prove detection:");
    for (const char* i : def.injections) std::printf(" %s", i);
    std::printf("\n");
  }
  std::printf("exit: 0 clean, 1 violation, 2 invalid options, 77 skipped, 128+N interrupted by signal N\n");
}

Config ParseOptions(int argc, char** argv, const ScenarioDef& def) {
  Config c;
  c.scenario = def.name;
  bool have_duration = false, have_workers = false, have_seed = false;
  for (const auto& o : def.options) c.values[o.name] = o.default_value;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintHelp(def);
      std::exit(kExitClean);
    }
    if (arg == "--json") {
      c.json = true;
      continue;
    }
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) UsageError("'%s' is not --name=value", arg.c_str());
    const std::string name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    std::uint64_t v = 0;
    if (name == "duration") {
      char* end = nullptr;
      errno = 0;
      const double d = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || errno || !(d > 0) || d > 7 * 86400.0)
        UsageError("--duration=%s: must be a number of seconds > 0 and at most a week", value.c_str());
      c.duration_s = d;
      have_duration = true;
    } else if (name == "ops") {
      if (!ParseU64(value, false, &v) || v == 0) UsageError("--ops=%s: must be an integer > 0", value.c_str());
      c.ops = v;
    } else if (name == "workers") {
      if (!ParseU64(value, false, &v) || v < def.min_workers || v > kMaxWorkers)
        UsageError("--workers=%s: must be an integer in %u..%u", value.c_str(), def.min_workers, kMaxWorkers);
      c.workers = static_cast<unsigned>(v);
      have_workers = true;
    } else if (name == "seed") {
      if (!ParseU64(value, false, &v)) UsageError("--seed=%s: must be an unsigned 64-bit integer", value.c_str());
      c.seed = v;
      have_seed = true;
    } else if (name == "inject") {
      if (std::find_if(def.injections.begin(), def.injections.end(),
                       [&](const char* s) { return value == s; }) == def.injections.end())
        UsageError("--inject=%s: unknown fault for this scenario", value.c_str());
      c.inject = value;
    } else {
      const auto it = std::find_if(def.options.begin(), def.options.end(),
                                   [&](const NumOption& o) { return name == o.name; });
      if (it == def.options.end()) UsageError("unknown option '--%s'", name.c_str());
      if (!ParseU64(value, true, &v) || v < it->min || v > it->max)
        UsageError("--%s=%s: must be an integer in %" PRIu64 "..%" PRIu64, name.c_str(), value.c_str(), it->min,
                   it->max);
      c.values[name] = v;
    }
  }
  if (!have_duration && !c.ops) c.duration_s = 10;
  if (!have_workers) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    c.workers = static_cast<unsigned>(std::clamp<long>(n, def.min_workers, 64));
  }
  if (!have_seed) {
    std::uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s) s = MonotonicNs() ^ static_cast<std::uint64_t>(getpid());
    c.seed = s % 1000000000000ull;  // short enough to retype
  }
  if (def.validate) {
    const std::string err = def.validate(c);
    if (!err.empty()) UsageError("%s", err.c_str());
  }
  return c;
}

// ---------------------------------------------------------------- cleanup

struct RunObjects {
  key_t key_base;
  std::string name_prefix;  // without the leading slash
  std::string scratch_dir;
  std::set<pid_t> creators;
};

// Removes the run's SysV segments, POSIX shm objects and scratch files.
// Returns how many objects it removed.
int RemoveRunObjects(const RunObjects& r) {
  int removed = 0;
  shm_info info{};
  const int max_index = shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&info));
  for (int idx = 0; idx <= max_index; ++idx) {
    shmid_ds ds{};
    const int id = shmctl(idx, SHM_STAT, &ds);
    if (id < 0) continue;
    const auto key = static_cast<std::uint32_t>(ds.shm_perm.__key);
    const auto base = static_cast<std::uint32_t>(r.key_base);
    const bool ours_by_key = key >= base && key < base + kKeySlots;
    const bool ours_private = key == IPC_PRIVATE && ds.shm_nattch == 0;
    if ((ours_by_key || ours_private) && r.creators.count(ds.shm_cpid) && shmctl(id, IPC_RMID, nullptr) == 0)
      ++removed;
  }
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d)) {
      if (std::strncmp(e->d_name, r.name_prefix.c_str(), r.name_prefix.size()) == 0 &&
          shm_unlink(("/" + std::string(e->d_name)).c_str()) == 0)
        ++removed;
    }
    closedir(d);
  }
  struct stat st;
  if (lstat(r.scratch_dir.c_str(), &st) == 0) {
    RemoveTree(r.scratch_dir);
    ++removed;
  }
  return removed;
}

RunObjects ObjectsOf(const Run& run, const std::string& name_prefix) {
  RunObjects r{run.key_base(), name_prefix, run.scratch_dir(), {}};
  r.creators.insert(run.shared()->parent_pid);
  for (unsigned i = 0; i < run.config().workers; ++i)
    if (run.shared()->worker_pids[i] > 0) r.creators.insert(run.shared()->worker_pids[i]);
  return r;
}

key_t ChooseKeyBase() {
  // A 256-key block, marked as ours, in which no segment exists right now.
  for (;;) {
    std::uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<std::uint32_t>(MonotonicNs());
    const std::uint32_t base = (kKeyMarker << 24) | ((r & 0xffff) << 8);
    bool free = true;
    shm_info info{};
    const int max_index = shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&info));
    for (int idx = 0; idx <= max_index && free; ++idx) {
      shmid_ds ds{};
      if (shmctl(idx, SHM_STAT, &ds) < 0) continue;
      const auto key = static_cast<std::uint32_t>(ds.shm_perm.__key);
      if (key >= base && key < base + kKeySlots) free = false;
    }
    if (free) return static_cast<key_t>(base);
  }
}

// ---------------------------------------------------------------- report

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

struct Totals {
  std::uint64_t ops = 0, expected_failures = 0;
  std::vector<std::vector<std::uint64_t>> hist;  // [op][bucket]
};

Totals Sum(const SharedState* s, unsigned workers, std::size_t op_types) {
  Totals t;
  t.hist.assign(op_types, std::vector<std::uint64_t>(kBuckets, 0));
  for (unsigned w = 0; w < workers; ++w) {
    t.ops += s->workers[w].ops;
    t.expected_failures += s->workers[w].expected_failures;
    for (std::size_t op = 0; op < op_types; ++op)
      for (unsigned b = 0; b < kBuckets; ++b) t.hist[op][b] += s->workers[w].hist[op][b];
  }
  return t;
}

std::uint64_t Percentile(const std::vector<std::uint64_t>& h, std::uint64_t count, double q) {
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count)));
  std::uint64_t seen = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    seen += h[b];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return BucketValue(b);
  }
  return 0;
}

void Report(const Run& run, double seconds, int interrupted, const std::string& skipped) {
  const Config& c = run.config();
  const ScenarioDef& def = run.def();
  const SharedState* s = run.shared();
  const Totals t = s ? Sum(s, c.workers, def.op_names.size()) : Totals{};
  const double rate = seconds > 0 ? static_cast<double>(t.ops) / seconds : 0;
  const std::uint32_t violations = s ? s->violations.load() : 0;
  const std::uint32_t messages = s ? std::min<std::uint32_t>(s->messages_used.load(), kMaxMessages) : 0;
  if (c.json) {
    std::string j = "{";
    j += "\"scenario\": " + JsonString(c.scenario);
    j += ", \"seed\": " + std::to_string(c.seed);
    j += ", \"workers\": " + std::to_string(c.workers);
    char num[64];
    std::snprintf(num, sizeof num, "%.6f", seconds);
    j += std::string(", \"duration_s\": ") + num;
    j += ", \"ops\": " + std::to_string(t.ops);
    std::snprintf(num, sizeof num, "%.1f", rate);
    j += std::string(", \"ops_per_s\": ") + num;
    j += ", \"latency_ns\": {";
    bool first = true;
    for (std::size_t op = 0; s && op < def.op_names.size(); ++op) {
      std::uint64_t n = 0;
      for (auto v : t.hist[op]) n += v;
      if (!n) continue;
      j += std::string(first ? "" : ", ") + JsonString(def.op_names[op]) + ": {\"count\": " + std::to_string(n) +
           ", \"p50\": " + std::to_string(Percentile(t.hist[op], n, 0.50)) +
           ", \"p99\": " + std::to_string(Percentile(t.hist[op], n, 0.99)) + "}";
      first = false;
    }
    j += "}";
    j += ", \"expected_failures\": " + std::to_string(t.expected_failures);
    j += ", \"errors\": " + std::to_string(violations);
    j += ", \"violations\": [";
    for (std::uint32_t i = 0; i < messages; ++i) j += (i ? ", " : "") + JsonString(s->messages[i]);
    j += "]";
    j += ", \"inject\": " + (c.inject.empty() ? std::string("null") : JsonString(c.inject));
    j += ", \"options\": {";
    first = true;
    for (const auto& [k, v] : c.values) {
      j += std::string(first ? "" : ", ") + JsonString(k) + ": " + std::to_string(v);
      first = false;
    }
    j += "}";
    j += ", \"interrupted\": " + (interrupted ? JsonString(SignalName(interrupted)) : std::string("null"));
    j += ", \"skipped\": " + (skipped.empty() ? std::string("null") : JsonString(skipped));
    j += "}\n";
    std::fputs(j.c_str(), stdout);
  } else if (!skipped.empty()) {
    std::printf("%s: skipped: %s\n", g_binary, skipped.c_str());
  } else {
    std::printf("%s: seed=%" PRIu64 " workers=%u %.2fs: %" PRIu64 " verified ops (%.0f/s), %" PRIu64
                " expected failures, %u violation(s)%s\n",
                g_binary, c.seed, c.workers, seconds, t.ops, rate, t.expected_failures, violations,
                interrupted ? (", interrupted by " + SignalName(interrupted)).c_str() : "");
    for (std::size_t op = 0; op < def.op_names.size(); ++op) {
      std::uint64_t n = 0;
      for (auto v : t.hist[op]) n += v;
      if (n)
        std::printf("  %-14s %10" PRIu64 " ops  p50 %8" PRIu64 " ns  p99 %9" PRIu64 " ns\n", def.op_names[op], n,
                    Percentile(t.hist[op], n, 0.5), Percentile(t.hist[op], n, 0.99));
    }
  }
  std::fflush(stdout);
}

void ResetWorkerSignals() {
  signal(SIGINT, SIG_IGN);  // the parent decides when the run stops
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

// ---------------------------------------------------------------- main

int StressMain(int argc, char** argv, const ScenarioDef& def) {
  static std::string binary = std::string("stress-") + def.name;
  g_binary = binary.c_str();
  if (argc >= 2 && std::strcmp(argv[1], "--exec-child") == 0 && def.exec_child) return def.exec_child(argc, argv);

  Config config = ParseOptions(argc, argv, def);
  Run run;
  run.config_ = &config;
  run.def_ = &def;

  if (def.skip_reason) {
    const std::string why = def.skip_reason(config);
    if (!why.empty()) {
      Report(run, 0, 0, why);
      std::fprintf(stderr, "%s: SKIP: %s\n", g_binary, why.c_str());
      return kExitSkip;
    }
  }

  // Everything the parent, the janitor and the workers share.
  void* mem = mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::fprintf(stderr, "%s: cannot map the shared state: %s\n", g_binary, DescribeErrno(errno).c_str());
    return kExitViolation;
  }
  run.shared_ = static_cast<SharedState*>(mem);
  SharedState* shared = run.shared_;
  shared->parent_pid = getpid();

  run.key_base_ = ChooseKeyBase();
  char prefix[128];
  std::snprintf(prefix, sizeof prefix, "shmconform.%s.stress-%d.", RunId().c_str(), static_cast<int>(getpid()));
  run.name_prefix_ = prefix;
  const char* tmp = std::getenv("SHMCONFORM_TMPDIR");
  if (!tmp || !*tmp) tmp = std::getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  run.scratch_dir_ = std::string(tmp) + "/" + prefix + "d";

  // Signals reach the parent only through sigtimedwait below.
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&watched, sig);
  sigprocmask(SIG_BLOCK, &watched, nullptr);

  // The janitor: if this process dies without cleaning up (SIGKILL), the
  // janitor sees the pipe close once every run process is gone and removes
  // the run's objects.
  int janitor_pipe[2];
  if (pipe2(janitor_pipe, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "%s: pipe: %s\n", g_binary, DescribeErrno(errno).c_str());
    return kExitViolation;
  }
  const pid_t janitor = fork();
  if (janitor == 0) {
    ResetWorkerSignals();
    close(janitor_pipe[1]);
    const int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) dup2(devnull, 1);
    char byte = 0;
    ssize_t n;
    do n = read(janitor_pipe[0], &byte, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1) _exit(0);
    const int removed = RemoveRunObjects(ObjectsOf(run, run.name_prefix_));
    std::fprintf(stderr, "%s: janitor: the main process died; removed %d object(s) of the run\n", g_binary, removed);
    _exit(0);
  }
  close(janitor_pipe[0]);
  const int janitor_fd = janitor_pipe[1];

  std::fprintf(stderr, "%s: seed=%" PRIu64 " workers=%u sysv-keys=%#x-%#x shm-names=/%s* scratch=%s janitor=%d\n",
               g_binary, config.seed, config.workers, static_cast<unsigned>(run.key_base_),
               static_cast<unsigned>(run.key_base_) + kKeySlots - 1, run.name_prefix_.c_str(),
               run.scratch_dir_.c_str(), static_cast<int>(janitor));

  // Only scenarios that need files use it; they check it in skip_reason.
  mkdir(run.scratch_dir_.c_str(), 0700);
  if (def.setup && !shared->violations.load()) def.setup(run);

  const std::uint64_t start = MonotonicNs();
  shared->deadline_ns = config.duration_s > 0 ? start + static_cast<std::uint64_t>(config.duration_s * 1e9) : 0;
  unsigned started = 0;
  for (unsigned i = 0; i < config.workers && !shared->violations.load(); ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      run.Fail("fork of worker %u failed with %s", i, ErrnoName(errno).c_str());
      break;
    }
    if (pid == 0) {
      // Recorded by the worker itself before it creates anything, so the
      // cleanup knows its objects even if the parent dies right after fork.
      shared->worker_pids[i] = getpid();
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != shared->parent_pid) _exit(kExitViolation);
      ResetWorkerSignals();
      Worker w(run, i);
      def.work(w);
      _exit(kExitClean);
    }
    shared->worker_pids[i] = pid;
    ++started;
  }

  // Supervise: reap workers, turn crashes and hangs into violations, turn
  // SIGINT/SIGTERM into an orderly stop.
  int interrupted = 0;
  std::vector<bool> alive(started, true);
  unsigned running = started;
  std::uint64_t kill_at = 0;
  const std::uint64_t hang_at = shared->deadline_ns ? shared->deadline_ns + 10'000'000'000ull : 0;
  bool killed_by_us = false;
  while (running) {
    const timespec tick{0, 100'000'000};
    siginfo_t si;
    const int sig = sigtimedwait(&watched, &si, &tick);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      if (!interrupted) interrupted = sig;
      shared->stop.store(1);
      if (!kill_at) kill_at = MonotonicNs() + 5'000'000'000ull;
    }
    for (unsigned i = 0; i < started; ++i) {
      if (!alive[i]) continue;
      int status = 0;
      const pid_t r = waitpid(shared->worker_pids[i], &status, WNOHANG);
      if (r != shared->worker_pids[i]) continue;
      alive[i] = false;
      --running;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == kExitClean;
      const bool reported = WIFEXITED(status) && WEXITSTATUS(status) == kExitViolation;
      if (!clean && !reported && !killed_by_us) {
        run.Fail("worker %u (pid %d) %s %s after %" PRIu64 " ops; its objects are removed by the parent", i,
                 static_cast<int>(shared->worker_pids[i]), WIFSIGNALED(status) ? "was killed by" : "exited with",
                 WIFSIGNALED(status) ? SignalName(WTERMSIG(status)).c_str()
                                     : std::to_string(WEXITSTATUS(status)).c_str(),
                 shared->workers[i].ops);
      }
      if (!clean && !kill_at) kill_at = MonotonicNs() + 3'000'000'000ull;
    }
    const std::uint64_t now = MonotonicNs();
    if (running && hang_at && now >= hang_at && !kill_at) {
      run.Fail("%u worker(s) still running 10 s after the deadline (hung)", running);
      kill_at = now;
    }
    if (running && kill_at && now >= kill_at && !killed_by_us) {
      killed_by_us = true;
      for (unsigned i = 0; i < started; ++i)
        if (alive[i]) kill(shared->worker_pids[i], SIGKILL);
    }
  }
  const double seconds = static_cast<double>(MonotonicNs() - start) / 1e9;

  if (!shared->violations.load() && !interrupted && def.finish) def.finish(run);

  RemoveRunObjects(ObjectsOf(run, run.name_prefix_));
  for (auto& [p, n] : run.allocations_) munmap(p, n);
  [[maybe_unused]] ssize_t ignored = write(janitor_fd, "d", 1);
  close(janitor_fd);
  waitpid(janitor, nullptr, 0);

  Report(run, seconds, interrupted, "");
  if (shared->violations.load()) return kExitViolation;
  if (interrupted) return 128 + interrupted;
  return kExitClean;
}

}  // namespace shmconform::stress
