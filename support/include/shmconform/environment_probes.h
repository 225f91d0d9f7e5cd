// What a container or sandbox may deliberately take away, probed at run time
// (never guessed from a runtime's name): capabilities, writable shm sysctls,
// smaps dirty counts that follow stores. Each probe gives nullopt, or the
// reason a test that needs it skips with, so that a failure in a container
// report always means the behaviour differs from Linux.
#pragma once

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "shmconform/child.h"
#include "shmconform/errno_names.h"
#include "shmconform/ipc_namespace.h"
#include "shmconform/owners.h"

namespace shmconform {

namespace probes_internal {

inline bool EffectiveCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

// Exit codes of the sysctl probe's child that are not an errno.
inline constexpr int kNoIpcNamespace = 120;

// "Private_Dirty" + "Shared_Dirty" of the smaps entry starting at `start`, in kB.
inline std::optional<long> SmapsDirtyKb(const void* start) {
  std::FILE* f = std::fopen("/proc/self/smaps", "re");
  if (!f) return std::nullopt;
  char line[512];
  char want[32];
  std::snprintf(want, sizeof want, "%lx-", reinterpret_cast<unsigned long>(start));
  bool in_entry = false;
  long total = 0;
  int seen = 0;
  while (std::fgets(line, sizeof line, f)) {
    // Entry headers start with the address (hex); field lines with a capital ("Rss:").
    const bool header = !(line[0] >= 'A' && line[0] <= 'Z');
    if (std::strncmp(line, want, std::strlen(want)) == 0) {
      in_entry = true;
      continue;
    }
    if (in_entry && header) break;
    long kb = 0;
    if (in_entry &&
        (std::sscanf(line, "Private_Dirty: %ld kB", &kb) == 1 || std::sscanf(line, "Shared_Dirty: %ld kB", &kb) == 1)) {
      total += kb;
      ++seen;
    }
  }
  std::fclose(f);
  if (seen != 2) return std::nullopt;
  return total;
}

}  // namespace probes_internal

// nullopt when `cap` is in the effective set; otherwise why a test needing it skips.
inline std::optional<std::string> WhyNoCapability(int cap, const char* name) {
  if (probes_internal::EffectiveCapability(cap)) return std::nullopt;
  return std::string("needs ") + name + " in the effective set, which this process lacks (uid " +
         std::to_string(geteuid()) + "; a container's default set leaves it out: podman --cap-add, shmconform " +
         "oci:RUNTIME,cap-add=" + (std::strncmp(name, "CAP_", 4) == 0 ? name + 4 : name) + ")";
}

// What the shm sysctl probe found: whether unshare(CLONE_NEWIPC) worked, and nullopt
// or why kernel.shm* cannot be written there (probed once, in a throw-away child).
struct ShmSysctlProbe {
  bool namespace_made = false;
  std::optional<std::string> why_not;
};

inline const ShmSysctlProbe& ProbeShmSysctls() {
  static const ShmSysctlProbe probe = []() -> ShmSysctlProbe {
    const ChildOutcome child = RunInChild([] {
      if (unshare(CLONE_NEWIPC) != 0) _exit(probes_internal::kNoIpcNamespace);
      // 4096 is any fresh namespace's own default: the write changes nothing.
      if (!WriteKernelSysctl("shmmni", 4096)) _exit(errno & 0x7f);
      _exit(0);
    });
    if (child.exited() && child.exit_code == 0) return {true, std::nullopt};
    if (!child.exited()) return {false, "the shm sysctl probe did not exit normally: " + child.Describe()};
    if (child.exit_code == probes_internal::kNoIpcNamespace)
      return {false,
              "cannot create a private IPC namespace to set kernel.shm* sysctls in (unshare(CLONE_NEWIPC) "
              "fails: needs CAP_SYS_ADMIN)"};
    if (child.exit_code == EROFS)
      return {true,
              "/proc/sys is read-only here, so kernel.shm* sysctls cannot be set even in a private IPC "
              "namespace (CLONE_NEWIPC) (a container's default; podman --security-opt unmask=/proc/sys, "
              "shmconform sysctl-rw=yes)"};
    return {true, "kernel.shmmni cannot be written in a new IPC namespace (CLONE_NEWIPC): " +
                      ErrnoName(child.exit_code) + "; the shm sysctls are fixed here"};
  }();
  return probe;
}

// nullopt when a new IPC namespace can be made and its kernel.shm* sysctls written.
inline const std::optional<std::string>& WhyShmSysctlsNotWritable() { return ProbeShmSysctls().why_not; }

// nullopt when /proc/sys/kernel/NAME exists.
inline std::optional<std::string> WhyNoKernelSysctl(const char* name) {
  const std::string path = std::string("/proc/sys/kernel/") + name;
  if (access(path.c_str(), F_OK) == 0) return std::nullopt;
  return "there is no " + path + " here (kernel.shm" + std::string(name).substr(3) + " not offered)";
}

// nullopt when /proc/self/smaps dirty counts follow stores: a shared file page
// that was only read shows 0 kB dirty, and one stored to shows more.
inline const std::optional<std::string>& WhySmapsDirtyUntrustworthy() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    auto file = TempFile::Create(static_cast<off_t>(sysconf(_SC_PAGESIZE)));
    if (!file.ok()) return "cannot make a scratch file to probe smaps: " + ErrnoName(file.error());
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, file.value().fd(), 0);
    if (p == MAP_FAILED) return "cannot map a scratch file to probe smaps: " + ErrnoName(errno);
    const volatile char read = *static_cast<volatile char*>(p);
    (void)read;
    const auto clean = probes_internal::SmapsDirtyKb(p);
    static_cast<volatile char*>(p)[0] = 1;
    const auto dirty = probes_internal::SmapsDirtyKb(p);
    munmap(p, page);
    if (!clean || !dirty) return std::string("/proc/self/smaps has no Private_Dirty/Shared_Dirty for a mapping here");
    if (*clean == 0 && *dirty > 0) return std::nullopt;
    return "smaps dirty counts do not follow stores here (a page only read shows " + std::to_string(*clean) +
           " kB dirty, after a store " + std::to_string(*dirty) + " kB)";
  }();
  return why;
}

}  // namespace shmconform

#define SKIP_WITHOUT_CAPABILITY(cap)                                                          \
  do {                                                                                        \
    if (const auto why = ::shmconform::WhyNoCapability(cap, #cap); why) GTEST_SKIP() << *why; \
  } while (0)

#define SKIP_UNLESS_SMAPS_DIRTY_TRACKS_STORES()                                                  \
  do {                                                                                           \
    if (const auto& why = ::shmconform::WhySmapsDirtyUntrustworthy(); why) GTEST_SKIP() << *why; \
  } while (0)
