// Small helpers shared by the System V shared memory tests of this directory.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shm_table.h"
#include "shmconform/shmconform.h"

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15  // Linux 4.17; older C libraries lack the name
#endif

namespace shmconform::sysv {

// IPC_STAT of a segment; unwrap it at the call site with
// ASSERT_NO_ERRNO_AND_VALUE, so a failure points at the test's line.
inline SysResult<shmid_ds> StatOf(int id) {
  shmid_ds ds{};
  if (shmctl(id, IPC_STAT, &ds) != 0)
    return SysResult<shmid_ds>::Error(errno, "shmctl(" + std::to_string(id) + ", IPC_STAT)");
  return SysResult<shmid_ds>::Ok(ds);
}

// The seconds of the clock the kernel stamps shm_atime/dtime/ctime with
// (the coarse wall clock), so a stamp always lies within a bracket of reads.
inline time_t KernelSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

// Matches a time stamp taken between two KernelSeconds() reads.
inline auto Between(time_t before, time_t after) {
  return ::testing::AllOf(::testing::Ge(before), ::testing::Le(after));
}

// Gives a segment (created by root) a new owner uid/gid and mode via IPC_SET;
// unwrap with ASSERT_NO_ERRNO at the call site.
inline SysResult<shmid_ds> SetOwnerAndMode(int id, uid_t uid, gid_t gid, mode_t mode) {
  SysResult<shmid_ds> stat = StatOf(id);
  if (!stat.ok()) return stat;
  shmid_ds ds = stat.value();
  ds.shm_perm.uid = uid;
  ds.shm_perm.gid = gid;
  ds.shm_perm.mode = mode;
  if (shmctl(id, IPC_SET, &ds) != 0)
    return SysResult<shmid_ds>::Error(errno, "shmctl(" + std::to_string(id) + ", IPC_SET)");
  return SysResult<shmid_ds>::Ok(ds);
}

// The class of mode bits an unprivileged caller (kUnprivilegedUid/Gid) falls
// in for a segment root created: GiveToCaller makes it the owner (uid), puts
// it in the group (gid) or leaves it among the others.
enum class Caller { kOwner, kGroup, kOther };

inline SysResult<shmid_ds> GiveToCaller(int id, Caller caller, mode_t mode) {
  return SetOwnerAndMode(id, caller == Caller::kOwner ? kUnprivilegedUid : 0,
                         caller == Caller::kGroup ? kUnprivilegedGid : 0, mode);
}

// The number of lines of /proc/sysvipc/shm (headings included), with
// open/read only, so a forked child may use it; -1 if it cannot be read.
inline long ChildCountProcShmLines() {
  const int fd = open("/proc/sysvipc/shm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  long lines = 0;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    for (ssize_t i = 0; i < n; ++i) lines += buf[i] == '\n';
  close(fd);
  return lines;
}

// The slot index of segment `id` in the kernel's table (for SHM_STAT), found
// by walking the table with `stat_cmd`; -1 if absent.
// Other processes' segments may come and go meanwhile: only ours matters.
inline int SlotIndexOf(int id, int stat_cmd = SHM_STAT) {
  ShmTable table(stat_cmd);
  for (ShmTableEntry e; table.Next(&e);)
    if (e.id == id) return e.index;
  return -1;
}

// The /proc/self/maps permissions ("rw-s") of the mapping at addr; "" if none.
inline std::string PermsAt(const void* addr) {
  const auto entry = FindMapsEntry(addr);
  return entry ? entry->perms : std::string();
}

}  // namespace shmconform::sysv
