// Small helpers shared by the System V shared memory tests of this directory.
#pragma once

#include <grp.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

// Whether an attachment of this process exists at addr (its /proc/self/maps line).
inline bool MappedAt(const void* addr) { return FindMapsEntry(addr).has_value(); }

}  // namespace shmconform::sysv
