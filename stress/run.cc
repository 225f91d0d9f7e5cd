// The parent's view of a run (Run) and the size checks scenarios' option
// validation uses.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "framework.h"
#include "run_state.h"
#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"

namespace shmconform::stress {

key_t Run::KeyFor(unsigned slot) const { return static_cast<key_t>(static_cast<std::uint32_t>(key_base_) + slot); }

std::string Run::ShmName(const std::string& tag) const { return "/" + name_prefix_ + tag; }

void* Run::SharedAlloc(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "%s: cannot allocate %zu bytes of shared memory: %s\n", BinaryName(), bytes,
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
  std::snprintf(text, sizeof text, "%s: VIOLATION seed=%" PRIu64 " (parent): %s", BinaryName(), config_->seed, msg);
  RecordViolation(shared_, text);
}

std::vector<pid_t> Run::WorkerPids() const {
  return std::vector<pid_t>(shared_->worker_pids, shared_->worker_pids + config_->workers);
}

std::string CheckMemory(std::uint64_t bytes, const std::string& what) {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return "";
  const std::uint64_t half = static_cast<std::uint64_t>(pages) / 2 * static_cast<std::uint64_t>(size);
  if (bytes > half) return what + " (" + std::to_string(bytes) + " bytes) exceeds half the physical memory";
  return "";
}

std::string CheckShmmax(std::uint64_t size) {
  const auto shmmax = ReadProcNumber("/proc/sys/kernel/shmmax");
  if (shmmax && size > *shmmax)
    return "--size=" + std::to_string(size) + " exceeds kernel.shmmax (" + std::to_string(*shmmax) + ")";
  return "";
}

}  // namespace shmconform::stress
