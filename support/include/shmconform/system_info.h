// What the running kernel and architecture offer, read at run time: the same
// binary runs on x86-64, under qemu-user (other page sizes, SHMLBA) and in UML.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace shmconform {

size_t PageSize();
// The attach alignment for SHM_RND (SHMLBA): the page size on most
// architectures, 4 pages on arm.
size_t Shmlba();
inline size_t RoundUpToPage(size_t n) { return (n + PageSize() - 1) / PageSize() * PageSize(); }

// A number from a /proc file such as "/proc/sys/kernel/shmmax".
std::optional<std::uint64_t> ReadProcNumber(const std::string& path);
// The whole file, or nullopt.
std::optional<std::string> ReadFile(const std::string& path);

// One row of /proc/sysvipc/shm.
struct ProcShmEntry {
  key_t key = 0;
  int shmid = -1;
  unsigned perms = 0;
  std::uint64_t size = 0;
  pid_t cpid = 0, lpid = 0;
  std::uint64_t nattch = 0;
  uid_t uid = 0, cuid = 0;
  gid_t gid = 0, cgid = 0;
  std::int64_t atime = 0, dtime = 0, ctime = 0;
};
// nullopt when the file is absent (no /proc, or no SysV IPC).
std::optional<std::vector<ProcShmEntry>> ReadProcSysvipcShm();
std::optional<ProcShmEntry> FindProcShmEntry(int shmid);

// "r-xp" style permissions and path of the /proc/self/maps line covering addr.
struct MapsEntry {
  std::uintptr_t start = 0, end = 0;
  std::string perms;
  std::string path;
};
std::optional<MapsEntry> FindMapsEntry(const void* addr);

}  // namespace shmconform

namespace shmconform {

// An address, aligned to `alignment`, where `length` bytes are unmapped right
// now (found by mapping a larger hole and releasing it). For tests that need
// to know what lies around an attachment or a MAP_FIXED mapping.
void* FindUnmappedRange(size_t length, size_t alignment);

}  // namespace shmconform
