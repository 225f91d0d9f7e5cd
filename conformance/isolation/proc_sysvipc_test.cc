// proc(5) views of System V shared memory: /proc/sysvipc/shm rows and
// /proc/sys/kernel/shm_next_id.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "isolation.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

void ExpectRowMatchesStat(int id) {
  shmid_ds ds{};
  ASSERT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  const std::optional<ProcShmEntry> row = FindProcShmEntry(id);
  ASSERT_TRUE(row.has_value()) << "no /proc/sysvipc/shm row for shmid " << id;
  EXPECT_EQ(row->key, ds.shm_perm.__key);
  EXPECT_EQ(row->perms, ds.shm_perm.mode);
  EXPECT_EQ(row->size, ds.shm_segsz);
  EXPECT_EQ(row->cpid, ds.shm_cpid);
  EXPECT_EQ(row->lpid, ds.shm_lpid);
  EXPECT_EQ(row->nattch, ds.shm_nattch);
  EXPECT_EQ(row->uid, ds.shm_perm.uid);
  EXPECT_EQ(row->gid, ds.shm_perm.gid);
  EXPECT_EQ(row->cuid, ds.shm_perm.cuid);
  EXPECT_EQ(row->cgid, ds.shm_perm.cgid);
  EXPECT_EQ(row->atime, ds.shm_atime);
  EXPECT_EQ(row->dtime, ds.shm_dtime);
  EXPECT_EQ(row->ctime, ds.shm_ctime);
}

TEST(ProcSysvipcShmTest, RowAgreesWithIpcStat) {
  REQUIREMENTS("PROC.SYSVIPC_SHM.MATCHES_STAT");
  if (!ReadProcSysvipcShm()) GTEST_SKIP() << "/proc/sysvipc/shm is not readable here";
  const size_t odd_size = 3 * PageSize() + 5;  // the row shows the requested size, like IPC_STAT
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(UniqueIpcKey(), odd_size, IPC_CREAT | IPC_EXCL | 0640));
  ExpectRowMatchesStat(seg.id());  // fresh: never attached
  // A child attaches and exits: lpid is then the child's, unlike cpid.
  const int id = seg.id();
  ASSERT_THAT(RunInChild([id] { CHILD_CHECK_SUCCESS(shmat(id, nullptr, 0)); }), ExitedWithCode(0));
  ExpectRowMatchesStat(seg.id());
  EXPECT_NE(FindProcShmEntry(seg.id())->lpid, getpid());
  {
    auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
    ExpectRowMatchesStat(seg.id());  // attached here: nattch 1, lpid ours
    EXPECT_EQ(FindProcShmEntry(seg.id())->nattch, 1u);
  }
  EXPECT_EQ(FindProcShmEntry(seg.id())->size, odd_size);
  EXPECT_EQ(FindProcShmEntry(seg.id())->perms & 0777, 0640u);
}

TEST(ProcShmNextIdTest, ChoosesTheIdOfTheNextSegmentOnce) {
  REQUIREMENTS("PROC.SHM_NEXT_ID");
  if (!ReadFile("/proc/sys/kernel/shm_next_id"))
    GTEST_SKIP() << "no /proc/sys/kernel/shm_next_id (kernel without CONFIG_CHECKPOINT_RESTORE)";
  SKIP_UNLESS_NEW_IPC_NAMESPACE();  // never set it on the host
  // Index 7, sequence 3: valid with either ipcmni layout.
  constexpr int kWanted = 3 * 32768 + 7;
  EXPECT_THAT(RunInNewIpcNamespace([] {
                CHILD_CHECK(WriteKernelSysctl("shm_next_id", kWanted));
                CHILD_CHECK(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600) == kWanted);
                // Used once: the file reads -1 again, the kernel chooses.
                char text[16] = {};
                const int fd = open("/proc/sys/kernel/shm_next_id", O_RDONLY | O_CLOEXEC);
                CHILD_CHECK(fd >= 0 && read(fd, text, sizeof text - 1) > 0);
                close(fd);
                CHILD_CHECK(std::strcmp(text, "-1\n") == 0);
              }),
              ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
