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

inline shmid_ds StatOf(int id) {
  shmid_ds ds{};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  return ds;
}

// The seconds of the clock the kernel stamps shm_atime/dtime/ctime with
// (the coarse wall clock), so a stamp always lies within a bracket of reads.
inline time_t KernelSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

// Matches a time stamp taken between two KernelSeconds() reads.
inline auto Between(time_t before, time_t after) { return ::testing::AllOf(::testing::Ge(before), ::testing::Le(after)); }

// In a forked child: give up root for good (async-signal-safe), for bodies
// that must first do something privileged (unshare) and then act unprivileged.
inline void ChildDropPrivileges(uid_t uid = kUnprivilegedUid, gid_t gid = kUnprivilegedGid) {
  CHILD_CHECK_SUCCESS(setgroups(0, nullptr));
  CHILD_CHECK_SUCCESS(setresgid(gid, gid, gid));
  CHILD_CHECK_SUCCESS(setresuid(uid, uid, uid));
}

// Gives a segment (created by root) a new owner uid/gid and mode via IPC_SET.
inline void SetOwnerAndMode(int id, uid_t uid, gid_t gid, mode_t mode) {
  shmid_ds ds = StatOf(id);
  ds.shm_perm.uid = uid;
  ds.shm_perm.gid = gid;
  ds.shm_perm.mode = mode;
  EXPECT_THAT(shmctl(id, IPC_SET, &ds), SyscallSucceeds());
}

// The class of mode bits an unprivileged caller (kUnprivilegedUid/Gid) falls
// in for a segment root created: GiveToCaller makes it the owner (uid), puts
// it in the group (gid) or leaves it among the others.
enum class Caller { kOwner, kGroup, kOther };

inline void GiveToCaller(int id, Caller caller, mode_t mode) {
  SetOwnerAndMode(id, caller == Caller::kOwner ? kUnprivilegedUid : 0, caller == Caller::kGroup ? kUnprivilegedGid : 0,
                  mode);
}

// Reads the decimal number at the start of a /proc file with open/read only,
// so a forked child may use it.
inline bool ChildReadNumber(const char* path, unsigned long long* out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[64];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  unsigned long long value = 0;
  ssize_t i = 0;
  for (; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) value = value * 10 + static_cast<unsigned>(buf[i] - '0');
  *out = value;
  return i > 0;
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

// Whether an attachment of this process exists at addr (its /proc/self/maps line).
inline bool MappedAt(const void* addr) { return FindMapsEntry(addr).has_value(); }

}  // namespace shmconform::sysv
