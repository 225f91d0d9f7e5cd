// Exhaustion and recovery, never touching the host's limits: each worker
// enters its own IPC and mount namespace and mounts a small private tmpfs on
// /dev/shm. It then fills SHMMNI (exactly shmmni segments, the next ENOSPC),
// SHMALL (exactly floor(shmall / pages) segments, the next ENOSPC), probes
// SHMMAX/SHMMIN (EINVAL), and fills the tmpfs through a shared mapping
// (exactly its size in pages, the next page SIGBUS/BUS_ADRERR, write()
// ENOSPC); after removing everything, the same amounts fit again.
#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/ipc_namespace.h"
#include "shmconform/system_info.h"

namespace shmconform::stress {
namespace {

enum Op : unsigned { kCreate, kEnospc, kRemove, kRecover, kEinval, kTmpfsWrite, kSigbus, kWriteEnospc };

constexpr std::uint64_t kHugeShmall = 1ull << 40;

// Thrown when the budget is spent in the middle of a cycle: the namespace,
// and whatever the cycle left in it, dies with the worker.
struct Stop {};
void Begin(Worker& w, unsigned op) {
  if (!w.Running()) throw Stop{};
  w.Begin(op);
}

// Enters private IPC and mount namespaces with a tmpfs of `pages` on /dev/shm.
// Returns "" or why not.
std::string EnterPrivateNamespaces(std::uint64_t pages) {
  if (unshare(CLONE_NEWIPC | CLONE_NEWNS) != 0)
    return "unshare(CLONE_NEWIPC|CLONE_NEWNS) failed with " + ErrnoName(errno) + " (needs CAP_SYS_ADMIN)";
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return "making / private in the new mount namespace failed with " + ErrnoName(errno);
  const std::string opts = "size=" + std::to_string(pages * PageSize()) + ",mode=1777";
  if (mount("shmconform-stress", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0)
    return "mounting a private tmpfs on /dev/shm failed with " + ErrnoName(errno);
  return "";
}

void SetLimits(Worker& w, std::uint64_t shmmni, std::uint64_t shmall, std::uint64_t shmmax) {
  if (!WriteKernelSysctl("shmmni", shmmni) || !WriteKernelSysctl("shmall", shmall) ||
      !WriteKernelSysctl("shmmax", shmmax))
    w.Fail("writing kernel.shmmni/shmall/shmmax inside the private IPC namespace failed (%s)",
           ErrnoName(errno).c_str());
}

// Creates segments of `size` until the first failure, which must be ENOSPC
// after exactly `expected` successes. `op` is kCreate or kRecover.
void FillExpecting(Worker& w, std::vector<int>& ids, std::size_t size, std::uint64_t expected, unsigned op,
                   const char* limit) {
  for (std::uint64_t i = 0; i < expected; ++i) {
    Begin(w, op);
    const int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    w.CheckOk(id, "%s: shmget #%llu of %llu (%zu bytes, %s)", op == kRecover ? "recovery" : "fill",
              static_cast<unsigned long long>(i + 1), static_cast<unsigned long long>(expected), size, limit);
    ids.push_back(id);
    w.End();
  }
  Begin(w, kEnospc);
  w.CheckErrno(shmget(IPC_PRIVATE, size, IPC_CREAT | 0600), ENOSPC, "shmget #%llu (%zu bytes) past %s",
               static_cast<unsigned long long>(expected + 1), size, limit);
  w.End();
}

void RemoveAll(Worker& w, std::vector<int>& ids) {
  const bool skip = w.config().Injecting("skip-remove") && w.index() == 0 && !ids.empty();
  for (std::size_t i = skip ? 1 : 0; i < ids.size(); ++i) {
    Begin(w, kRemove);
    w.CheckOk(shmctl(ids[i], IPC_RMID, nullptr), "shmctl(shmid %d, IPC_RMID)", ids[i]);
    w.End();
  }
  ids.clear();
}

void SysvCycle(Worker& w, bool by_shmall) {
  const std::size_t ps = PageSize();
  const std::uint64_t max_segments = w.config().Value("max-segments");
  std::vector<int> ids;
  std::uint64_t expected;
  std::size_t size;
  std::string limit;
  if (!by_shmall) {
    expected = w.rng().Between(1, max_segments);
    size = w.rng().Between(1, 2 * ps);
    SetLimits(w, expected, kHugeShmall, 1ull << 30);
    limit = "shmmni=" + std::to_string(expected);
  } else {
    const std::uint64_t pages_each = w.rng().Between(1, 4);
    const std::uint64_t shmall = w.rng().Between(pages_each, pages_each * max_segments);
    expected = shmall / pages_each;
    size = pages_each * ps - w.rng().Below(ps);  // rounds up to pages_each pages
    SetLimits(w, 4 * max_segments + 8, shmall, 1ull << 30);
    limit = "shmall=" + std::to_string(shmall) + " pages";
  }
  for (unsigned round = 0; round < 2; ++round) {  // fill, then recover after removal
    FillExpecting(w, ids, size, expected, round ? kRecover : kCreate, limit.c_str());
    RemoveAll(w, ids);
  }
}

void ShmmaxCycle(Worker& w) {
  const std::uint64_t shmmax = w.rng().Between(1, 64 * PageSize());
  SetLimits(w, 4096, kHugeShmall, shmmax);
  Begin(w, kEinval);
  w.CheckErrno(shmget(IPC_PRIVATE, shmmax + 1, IPC_CREAT | 0600), EINVAL, "shmget(%llu bytes) with shmmax=%llu",
               static_cast<unsigned long long>(shmmax + 1), static_cast<unsigned long long>(shmmax));
  w.CheckErrno(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL, "shmget(IPC_PRIVATE, 0 bytes) below SHMMIN");
  const int id = shmget(IPC_PRIVATE, shmmax, IPC_CREAT | 0600);
  w.CheckOk(id, "shmget(%llu bytes) with shmmax=%llu", static_cast<unsigned long long>(shmmax),
            static_cast<unsigned long long>(shmmax));
  w.CheckOk(shmctl(id, IPC_RMID, nullptr), "shmctl(%d, IPC_RMID)", id);
  w.End();
}

void TmpfsCycle(Worker& w) {
  const std::size_t ps = PageSize();
  const std::uint64_t pages = w.config().Value("shm-pages");
  const char* name = "/exhaustion";
  const int fd = static_cast<int>(
      w.CheckOk(shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600), "shm_open(%s, O_CREAT|O_EXCL)", name));
  // Sparse: the size may exceed the space; only touched pages take blocks.
  w.CheckOk(ftruncate(fd, static_cast<off_t>((pages + 1) * ps)), "ftruncate(%s, %llu pages)", name,
            static_cast<unsigned long long>(pages + 1));
  void* m = mmap(nullptr, (pages + 1) * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  w.CheckOk(m == MAP_FAILED ? -1 : 0, "mmap(%s)", name);
  char* p = static_cast<char*>(m);
  for (std::uint64_t i = 0; i < pages; ++i) {
    Begin(w, kTmpfsWrite);
    const Fault f = ProbeWrite(p + i * ps, 1);
    if (f.signal)
      w.Fail("writing page %llu of a %llu-page tmpfs gave %s, expected no fault", static_cast<unsigned long long>(i),
             static_cast<unsigned long long>(pages), DescribeFault(f).c_str());
    w.End();
  }
  Begin(w, kSigbus);
  char* last = p + pages * ps;
  const Fault f = ProbeWrite(last, 1);
  if (f.signal != SIGBUS || f.si_code != BUS_ADRERR || f.address != reinterpret_cast<std::uintptr_t>(last))
    w.Fail("writing page %llu of a full %llu-page tmpfs (%p) gave %s, expected SIGBUS/BUS_ADRERR there",
           static_cast<unsigned long long>(pages), static_cast<unsigned long long>(pages), static_cast<void*>(last),
           DescribeFault(f).c_str());
  w.End();
  Begin(w, kWriteEnospc);
  const char* other = "/exhaustion2";
  const int fd2 = static_cast<int>(w.CheckOk(shm_open(other, O_CREAT | O_EXCL | O_RDWR, 0600), "shm_open(%s)", other));
  std::vector<char> page(ps, 'x');
  w.CheckErrno(write(fd2, page.data(), ps), ENOSPC, "write() of one page to a full tmpfs");
  w.End();
  // Recovery: free everything, then the whole size fits again.
  munmap(m, (pages + 1) * ps);
  close(fd);
  w.CheckOk(shm_unlink(name), "shm_unlink(%s)", name);
  for (std::uint64_t i = 0; i < pages; ++i) {
    Begin(w, kRecover);
    if (write(fd2, page.data(), ps) != static_cast<ssize_t>(ps))
      w.Fail("recovery: write() of page %llu of %llu to the emptied tmpfs failed (%s)",
             static_cast<unsigned long long>(i), static_cast<unsigned long long>(pages), ErrnoName(errno).c_str());
    w.End();
  }
  close(fd2);
  w.CheckOk(shm_unlink(other), "shm_unlink(%s)", other);
}

void Work(Worker& w) {
  const std::string why = EnterPrivateNamespaces(w.config().Value("shm-pages"));
  if (!why.empty()) w.Fail("%s", why.c_str());
  try {
    while (w.Running()) {
      switch (w.rng().Below(4)) {
        case 0: SysvCycle(w, false); break;
        case 1: SysvCycle(w, true); break;
        case 2: ShmmaxCycle(w); break;
        case 3: TmpfsCycle(w); break;
      }
    }
  } catch (const Stop&) {
  }
}

std::string SkipReason(const Config& c) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string why = EnterPrivateNamespaces(c.Value("shm-pages"));
    [[maybe_unused]] ssize_t n = write(fds[1], why.data(), why.size());
    _exit(0);
  }
  close(fds[1]);
  char buf[300] = {};
  ssize_t n, used = 0;
  while ((n = read(fds[0], buf + used, sizeof buf - 1 - static_cast<size_t>(used))) > 0) used += n;
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return used ? "no private namespaces here: " + std::string(buf) : "";
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "exhaustion";
  def.summary = "SHMMNI/SHMALL/SHMMAX and tmpfs exhaustion and recovery, each worker in private namespaces.";
  def.op_names = {"create", "enospc", "remove", "recover", "einval", "tmpfs-write", "sigbus", "write-enospc"};
  def.injections = {"skip-remove"};
  def.options = {{"max-segments", 64, 1, 4096, "largest shmmni/shmall fill per cycle"},
                 {"shm-pages", 64, 1, 1u << 16, "size of each worker's private /dev/shm tmpfs in pages"}};
  def.skip_reason = SkipReason;
  def.work = Work;
  return StressMain(argc, argv, def);
}
