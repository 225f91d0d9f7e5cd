// shmctl through the C library and as the raw system call. On 32-bit targets
// glibc converts the kernel's structure (split 64-bit times) into its own and
// adds IPC_64 to the command; a conversion bug shows as a field that differs.
#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/kernel_version.h"
#include "shmconform/raw_syscalls.h"
#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform::sysv {
namespace {

struct shmid64_ds RawStatOf(int id) {
  struct shmid64_ds ds {};
  EXPECT_THAT(raw::Shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  return ds;
}

// A segment attached by this process and detached by a child, so every time
// and both pids are set.
TEST(ShmctlVariantTest, StatThroughLibcAgreesWithTheRawSystemCall) {
  REQUIREMENTS("SYSV.SHMCTL.STAT_RAW_AGREES");
  RecordProperty("variant", "libc,raw");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 3 * PageSize(), IPC_CREAT | 0640));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  void* const addr = att.get();
  EXPECT_THAT(RunInChild([addr] { CHILD_CHECK_SUCCESS(shmdt(addr)); }), ExitedWithCode(0));
  const shmid_ds libc = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  const struct shmid64_ds kernel = RawStatOf(seg.id());
  EXPECT_EQ(libc.shm_perm.uid, kernel.shm_perm.uid);
  EXPECT_EQ(libc.shm_perm.gid, kernel.shm_perm.gid);
  EXPECT_EQ(libc.shm_perm.cuid, kernel.shm_perm.cuid);
  EXPECT_EQ(libc.shm_perm.cgid, kernel.shm_perm.cgid);
  EXPECT_EQ(libc.shm_perm.mode, kernel.shm_perm.mode);
  EXPECT_EQ(libc.shm_segsz, kernel.shm_segsz);
  EXPECT_EQ(static_cast<std::int64_t>(libc.shm_atime), raw::AtimeOf(kernel));
  EXPECT_EQ(static_cast<std::int64_t>(libc.shm_dtime), raw::DtimeOf(kernel));
  EXPECT_EQ(static_cast<std::int64_t>(libc.shm_ctime), raw::CtimeOf(kernel));
  EXPECT_EQ(libc.shm_cpid, kernel.shm_cpid);
  EXPECT_EQ(libc.shm_lpid, kernel.shm_lpid);
  EXPECT_EQ(libc.shm_nattch, kernel.shm_nattch);
  // The values themselves, so two equally wrong paths cannot agree.
  EXPECT_EQ(kernel.shm_segsz, 3 * PageSize());
  EXPECT_EQ(kernel.shm_perm.mode & 0777, 0640u);
  EXPECT_EQ(kernel.shm_nattch, 1u);
  EXPECT_NE(raw::AtimeOf(kernel), 0);
  EXPECT_NE(raw::DtimeOf(kernel), 0);
}

// IPC_SET must stamp shm_ctime. Both segments are created first and one wait
// for the clock's next second serves both: their creation ctime is then
// provably older than the IPC_SET, so a kernel that never updates it fails.
TEST(ShmctlVariantTest, SetStampsCtimeThroughLibcAndTheRawSystemCall) {
  REQUIREMENTS("SYSV.SHMCTL.SET_FIELDS");
  RecordProperty("variant", "libc,raw");
  auto via_libc = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto via_raw = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const shmid_ds libc_created = ASSERT_NO_ERRNO_AND_VALUE(StatOf(via_libc.id()));
  const shmid_ds raw_created = ASSERT_NO_ERRNO_AND_VALUE(StatOf(via_raw.id()));
  const time_t created = std::max(libc_created.shm_ctime, raw_created.shm_ctime);
  const time_t before = WaitForClockSecondAfter(created);

  shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(via_libc.id()));
  ds.shm_perm.mode = 0640;
  ASSERT_THAT(shmctl(via_libc.id(), IPC_SET, &ds), SyscallSucceeds());
  struct shmid64_ds kds = RawStatOf(via_raw.id());
  kds.shm_perm.mode = 0604;
  ASSERT_THAT(raw::Shmctl(via_raw.id(), IPC_SET, &kds), SyscallSucceeds());
  const time_t after = KernelSeconds();

  const shmid_ds libc_now = ASSERT_NO_ERRNO_AND_VALUE(StatOf(via_libc.id()));
  const struct shmid64_ds raw_now = RawStatOf(via_raw.id());
  EXPECT_EQ(libc_now.shm_perm.mode & 0777, 0640u);
  EXPECT_EQ(raw_now.shm_perm.mode & 0777, 0604u);
  EXPECT_THAT(libc_now.shm_ctime, Between(before, after)) << "created at " << created;
  EXPECT_THAT(raw::CtimeOf(raw_now), Between(before, after)) << "created at " << created;
}

}  // namespace
}  // namespace shmconform::sysv
