// shmctl(2): status, ownership, removal, locking and the Linux table queries.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/environment_probes.h"
#include "shmconform/kernel_version.h"
#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform {
namespace {

using sysv::Between;
using sysv::Caller;
using sysv::ChildCountProcShmLines;
using sysv::GiveToCaller;
using sysv::KernelSeconds;
using sysv::SlotIndexOf;
using sysv::StatOf;

void* const kFailed = reinterpret_cast<void*>(-1);

// The kernel's shmctl itself, for cases the C library might answer (or crash
// on) before the kernel sees them: unknown commands and bad pointers.
long RawShmctl(int id, int cmd, void* buf) { return syscall(SYS_shmctl, id, cmd, buf); }

struct StatPermissionCase {
  const char* name;
  mode_t mode;
  Caller caller;
  int expected_errno;
};
void PrintTo(const StatPermissionCase& c, std::ostream* os) { *os << c.name; }

class ShmctlStatPermissionTest : public ::testing::TestWithParam<StatPermissionCase> {};

TEST_P(ShmctlStatPermissionTest, StatNeedsReadPermission) {
  REQUIREMENTS("SYSV.SHMCTL.STAT_EACCES");
  SKIP_UNLESS_CAN_CHANGE_UID();
  const StatPermissionCase c = GetParam();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  ASSERT_NO_ERRNO(GiveToCaller(seg.id(), c.caller, c.mode));
  const int id = seg.id();
  EXPECT_THAT(RunAsUser([c, id] {
                shmid_ds ds{};
                CHILD_CHECK_RESULT(shmctl(id, IPC_STAT, &ds), c.expected_errno);
                CHILD_CHECK_EQ(ds.shm_perm.mode, c.expected_errno == 0 ? c.mode : 0);
              }),
              ExitedWithCode(0));
}

INSTANTIATE_TEST_SUITE_P(Modes, ShmctlStatPermissionTest,
                         ::testing::Values(StatPermissionCase{"OwnerWriteOnly", 0266, Caller::kOwner, EACCES},
                                           StatPermissionCase{"GroupWriteOnly", 0626, Caller::kGroup, EACCES},
                                           StatPermissionCase{"OtherWriteOnly", 0662, Caller::kOther, EACCES},
                                           StatPermissionCase{"OtherExecuteOnly", 0661, Caller::kOther, EACCES},
                                           StatPermissionCase{"OwnerReadOnly", 0400, Caller::kOwner, 0},
                                           StatPermissionCase{"OtherReadOnly", 0004, Caller::kOther, 0}),
                         [](const auto& info) { return std::string(info.param.name); });

// Only uid, gid and the low 9 mode bits are taken from buf: SHM_DEST and
// SHM_LOCKED bits, the size and the creator ids in it are ignored.
TEST(ShmctlTest, SetChangesOwnerGroupAndLowModeBits) {
  REQUIREMENTS("SYSV.SHMCTL.SET_FIELDS");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | 0600));
  shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  const shmid_ds created = ds;
  ds.shm_perm.uid = 4242;
  ds.shm_perm.gid = 4343;
  ds.shm_perm.cuid = 4444;
  ds.shm_perm.mode = 0640 | SHM_DEST | SHM_LOCKED;
  ds.shm_segsz = 1;
  ASSERT_THAT(shmctl(seg.id(), IPC_SET, &ds), SyscallSucceedsWithValue(0));
  const shmid_ds now = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_EQ(now.shm_perm.uid, 4242u);
  EXPECT_EQ(now.shm_perm.gid, 4343u);
  EXPECT_EQ(now.shm_perm.cuid, created.shm_perm.cuid);
  EXPECT_EQ(now.shm_perm.cgid, created.shm_perm.cgid);
  EXPECT_EQ(now.shm_perm.mode, 0640u);
  EXPECT_EQ(now.shm_segsz, PageSize());
  // shm_ctime: ShmctlVariantTest.SetStampsCtimeThroughLibcAndTheRawSystemCall
  // (its creation stamp provably older, one clock-second wait for both paths).
  EXPECT_THAT(shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));  // not marked
}

// Who may IPC_SET and IPC_RMID: owner yes (whatever the mode), group member
// and others no (whatever the mode).
struct ControlCase {
  const char* name;
  int cmd;
  Caller caller;
  mode_t mode;
  int expected_errno;
  const char* requirement;
};
void PrintTo(const ControlCase& c, std::ostream* os) { PrintRequirementRow(c.name, c.requirement, os); }

class ShmctlControlTest : public ::testing::TestWithParam<ControlCase> {};

TEST_P(ShmctlControlTest, OnlyOwnerOrCreatorMaySetOrRemove) {
  ROW_REQUIREMENTS(GetParam().requirement);
  SKIP_UNLESS_CAN_CHANGE_UID();
  const ControlCase c = GetParam();
  // The test reads the status back as root: with no read bit in the mode that needs CAP_IPC_OWNER.
  if ((c.mode & 0444) == 0) SKIP_WITHOUT_CAPABILITY(CAP_IPC_OWNER);
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  ASSERT_NO_ERRNO(GiveToCaller(seg.id(), c.caller, c.mode));
  shmid_ds wanted = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  wanted.shm_perm.mode = 0604;
  const int id = seg.id();
  EXPECT_THAT(
      RunAsUser([c, id, wanted]() mutable { CHILD_CHECK_RESULT(shmctl(id, c.cmd, &wanted), c.expected_errno); }),
      ExitedWithCode(0));
  shmid_ds after{};
  if (c.cmd == IPC_RMID && c.expected_errno == 0) {
    EXPECT_THAT(shmctl(id, IPC_STAT, &after), SyscallFailsWithErrno(EINVAL));
  } else {
    EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(id)).shm_perm.mode, c.expected_errno == 0 ? 0604u : c.mode);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Callers, ShmctlControlTest,
    ::testing::Values(ControlCase{"SetByOther", IPC_SET, Caller::kOther, 0666, EPERM, "SYSV.SHMCTL.SET_EPERM"},
                      ControlCase{"SetByGroupMember", IPC_SET, Caller::kGroup, 0666, EPERM, "SYSV.SHMCTL.SET_EPERM"},
                      ControlCase{"RmidByOther", IPC_RMID, Caller::kOther, 0666, EPERM, "SYSV.SHMCTL.RMID_EPERM"},
                      ControlCase{"RmidByGroupMember", IPC_RMID, Caller::kGroup, 0666, EPERM, "SYSV.SHMCTL.RMID_EPERM"},
                      ControlCase{"SetByOwnerWithoutAccess", IPC_SET, Caller::kOwner, 0000, 0,
                                  "SYSV.SHMCTL.SET_BY_OWNER_OR_CREATOR"},
                      ControlCase{"RmidByOwnerWithoutAccess", IPC_RMID, Caller::kOwner, 0000, 0,
                                  "SYSV.SHMCTL.SET_BY_OWNER_OR_CREATOR"}),
    [](const auto& info) { return std::string(info.param.name); });

// An unprivileged creator that gave the segment away keeps the owner's rights
// through shm_perm.cuid: owner-class access, IPC_SET and IPC_RMID.
TEST(ShmctlTest, CreatorKeepsControlAfterGivingOwnershipAway) {
  REQUIREMENTS("SYSV.SHMCTL.SET_BY_OWNER_OR_CREATOR", "SYSV.IPC.PERM_CLASSES");
  SKIP_UNLESS_CAN_CHANGE_UID();
  const key_t key = UniqueIpcKey();
  Cleanup remove([key] {
    if (const int id = shmget(key, 0, 0); id >= 0) shmctl(id, IPC_RMID, nullptr);
  });
  EXPECT_THAT(RunAsUser([key] {
                const int id = shmget(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600);
                CHILD_CHECK(id >= 0);
                shmid_ds ds{};
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_STAT, &ds));
                ds.shm_perm.uid = 4242;
                ds.shm_perm.gid = 4242;
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_SET, &ds));
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_STAT, &ds));
                CHILD_CHECK(ds.shm_perm.uid == 4242 && ds.shm_perm.cuid == kUnprivilegedUid);
                CHILD_CHECK(shmat(id, nullptr, 0) != kFailed);
                ds.shm_perm.mode = 0640;
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_SET, &ds));
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_RMID, nullptr));
              }),
              ExitedWithCode(0));
  EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
}

TEST(ShmctlTest, RemovingAnAttachedSegmentMarksItAndKeepsItUsable) {
  REQUIREMENTS("SYSV.SHMCTL.RMID_ATTACHED");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0640));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  std::strcpy(att.as<char>(), "before");
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceedsWithValue(0));
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_EQ(ds.shm_perm.mode, 0640u | SHM_DEST);
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_STREQ(att.as<char>(), "before");
  std::strcpy(att.as<char>(), "after");
  EXPECT_STREQ(att.as<char>(), "after");
}

TEST(ShmctlTest, MarkedSegmentsKeyReadsAsPrivate) {
  REQUIREMENTS("SYSV.SHMCTL.RMID_KEY_PRIVATE");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  ASSERT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.__key, key);
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.__key, IPC_PRIVATE);
  const auto row = FindProcShmEntry(seg.id());
  if (!row) GTEST_SKIP() << "no /proc/sysvipc/shm here";
  EXPECT_EQ(row->key, IPC_PRIVATE);
}

TEST(ShmctlTest, RepeatedRemovalWhileAttachedIsHarmless) {
  REQUIREMENTS("SYSV.SHMCTL.RMID_REPEAT");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  std::strcpy(att.as<char>(), "data");
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  const shmid_ds first = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceedsWithValue(0));
  EXPECT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceedsWithValue(0));
  const shmid_ds again = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_EQ(again.shm_perm.mode, first.shm_perm.mode);
  EXPECT_EQ(again.shm_nattch, 1u);
  EXPECT_STREQ(att.as<char>(), "data");
}

TEST(ShmctlTest, RemovingAnUnattachedSegmentDestroysItAtOnce) {
  REQUIREMENTS("SYSV.SHMCTL.RMID_UNATTACHED", "SYSV.SHMCTL.REMOVED_ID_EINVAL");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | 0600));
  const int id = seg.release();
  ASSERT_THAT(shmctl(id, IPC_RMID, nullptr), SyscallSucceedsWithValue(0));
  shmid_ds ds{};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(shmat(id, nullptr, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_FALSE(FindProcShmEntry(id).has_value());
}

TEST(ShmctlTest, RemovalIgnoresItsBufferArgument) {
  REQUIREMENTS("SYSV.SHMCTL.RMID_IGNORES_BUF");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto inaccessible = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_NONE, MAP_PRIVATE));
  const int id = seg.release();
  EXPECT_THAT(RawShmctl(id, IPC_RMID, inaccessible.get()), SyscallSucceedsWithValue(0));
  shmid_ds ds{};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

// Every command that takes an identifier rejects a negative one and the
// identifier of a destroyed segment.
class ShmctlBadIdTest : public ::testing::TestWithParam<int> {};

TEST_P(ShmctlBadIdTest, NegativeOrDestroyedIdentifierFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMCTL.INVALID_ID", "SYSV.SHMCTL.REMOVED_ID_EINVAL");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  const int destroyed = seg.id();
  seg.reset();
  EXPECT_THAT(shmctl(-1, GetParam(), &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmctl(destroyed, GetParam(), &ds), SyscallFailsWithErrno(EINVAL));
}

INSTANTIATE_TEST_SUITE_P(Commands, ShmctlBadIdTest,
                         ::testing::Values(IPC_STAT, IPC_SET, IPC_RMID, SHM_LOCK, SHM_UNLOCK), [](const auto& info) {
                           switch (info.param) {
                             case IPC_STAT: return std::string("IpcStat");
                             case IPC_SET: return std::string("IpcSet");
                             case IPC_RMID: return std::string("IpcRmid");
                             case SHM_LOCK: return std::string("ShmLock");
                             default: return std::string("ShmUnlock");
                           }
                         });

// Raw system call: the C library may refuse an unknown command itself.
TEST(ShmctlTest, UnknownCommandFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMCTL.INVALID_CMD");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  shmid_ds ds{};
  for (int cmd : {-1, 5, 10, 16, 99, 12345}) {
    EXPECT_THAT(RawShmctl(seg.id(), cmd, &ds), SyscallFailsWithErrno(EINVAL)) << "cmd " << cmd;
  }
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.mode, 0600u);
}

// Raw system call: a C library that converts the structure would itself
// fault on the pointer instead of passing it to the kernel.
TEST(ShmctlTest, InaccessibleBufferFailsWithEFAULT) {
  REQUIREMENTS("SYSV.SHMCTL.EFAULT");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto inaccessible = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_NONE, MAP_PRIVATE));
  void* bad = inaccessible.get();
  EXPECT_THAT(RawShmctl(seg.id(), IPC_STAT, bad), SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(RawShmctl(seg.id(), IPC_SET, bad), SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(RawShmctl(0, IPC_INFO, bad), SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(RawShmctl(0, SHM_INFO, bad), SyscallFailsWithErrno(EFAULT));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.mode, 0600u);
}

// In a private IPC namespace the limits are ours to set and the table holds
// only our segments, so every value is known exactly.
TEST(ShmctlTest, IpcInfoReportsTheSysctlLimitsAndTheHighestIndex) {
  REQUIREMENTS("SYSV.SHMCTL.IPC_INFO");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(RunInPrivateIpcNamespace([] {
                CHILD_CHECK(WriteKernelSysctl("shmmax", 123456789));
                CHILD_CHECK(WriteKernelSysctl("shmall", 54321));
                CHILD_CHECK(WriteKernelSysctl("shmmni", 77));
                std::uint64_t proc_max = 0, proc_all = 0, proc_mni = 0;
                CHILD_CHECK(ReadKernelSysctl("shmmax", &proc_max));
                CHILD_CHECK(ReadKernelSysctl("shmall", &proc_all));
                CHILD_CHECK(ReadKernelSysctl("shmmni", &proc_mni));
                CHILD_CHECK_EQ(proc_max, 123456789);
                CHILD_CHECK_EQ(proc_all, 54321);
                CHILD_CHECK_EQ(proc_mni, 77);
                shminfo info{};
                CHILD_CHECK(shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info)) == 0);  // empty table
                CHILD_CHECK(info.shmmax == 123456789 && info.shmall == 54321 && info.shmmni == 77);
                CHILD_CHECK(info.shmmin == 1 && info.shmseg == 77);
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600));
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600));
                CHILD_CHECK(shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info)) == 1);
              }),
              ExitedWithCode(0));
}

TEST(ShmctlTest, ShmInfoCountsSegmentsAndTheirPages) {
  REQUIREMENTS("SYSV.SHMCTL.SHM_INFO");
  SKIP_UNLESS_FRESH_IPC_NAMESPACE();  // no sysctl is written
  const size_t page = PageSize();
  EXPECT_THAT(RunInPrivateIpcNamespace([page] {
                const int a = shmget(IPC_PRIVATE, 3 * page, IPC_CREAT | 0600);
                CHILD_CHECK(a >= 0);
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, page + 1, IPC_CREAT | 0600));
                char* p = static_cast<char*>(shmat(a, nullptr, 0));
                CHILD_CHECK(p != kFailed);
                p[0] = 1;
                p[2 * page] = 1;  // two of the five pages are touched
                shm_info info{};
                CHILD_CHECK(shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&info)) == 1);
                CHILD_CHECK(info.used_ids == 2);
                CHILD_CHECK(info.shm_tot == 5);
                CHILD_CHECK(info.shm_rss + info.shm_swp == 2);
                // /proc/sysvipc/shm of the namespace agrees: headings + 2 rows.
                CHILD_CHECK(ChildCountProcShmLines() == 1 + static_cast<long>(info.used_ids));
              }),
              ExitedWithCode(0));
}

TEST(ShmctlTest, ShmStatByIndexReturnsTheIdentifierAndTheSameStatus) {
  REQUIREMENTS("SYSV.SHMCTL.SHM_STAT");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(UniqueIpcKey(), 5000, IPC_CREAT | 0640));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  const int index = SlotIndexOf(seg.id());
  ASSERT_GE(index, 0) << "SHM_STAT found the segment in no slot";
  shmid_ds by_index{};
  ASSERT_THAT(shmctl(index, SHM_STAT, &by_index), SyscallSucceedsWithValue(seg.id()));
  // Filled in place, as by_index is: a copy need not keep the padding memcmp compares.
  shmid_ds by_id{};
  ASSERT_THAT(shmctl(seg.id(), IPC_STAT, &by_id), SyscallSucceeds());
  EXPECT_EQ(std::memcmp(&by_index, &by_id, sizeof by_id), 0);
  EXPECT_EQ(by_index.shm_segsz, 5000u);
  EXPECT_EQ(by_index.shm_nattch, 1u);
}

TEST(ShmctlTest, ShmStatOnAnUnusedSlotFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMCTL.SHM_STAT");
  SKIP_UNLESS_FRESH_IPC_NAMESPACE();  // no sysctl is written
  EXPECT_THAT(RunInPrivateIpcNamespace([] {
                shmid_ds ds{};
                CHILD_CHECK_ERRNO(shmctl(0, SHM_STAT, &ds), EINVAL);
                const int id = shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
                CHILD_CHECK(id >= 0);
                CHILD_CHECK(shmctl(0, SHM_STAT, &ds) == id);
                CHILD_CHECK_ERRNO(shmctl(1, SHM_STAT, &ds), EINVAL);
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_RMID, nullptr));
                CHILD_CHECK_ERRNO(shmctl(0, SHM_STAT, &ds), EINVAL);
              }),
              ExitedWithCode(0));
}

// SHM_STAT checks read permission; SHM_STAT_ANY (Linux 4.17) does not.
TEST(ShmctlTest, ShmStatNeedsReadPermissionButShmStatAnyDoesNot) {
  REQUIREMENTS("SYSV.SHMCTL.SHM_STAT", "SYSV.SHMCTL.SHM_STAT_ANY");
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kShmStatAny);
  SKIP_UNLESS_CAN_CHANGE_UID();
  SKIP_WITHOUT_CAPABILITY(CAP_IPC_OWNER);  // root finds the mode-0000 segment's slot with SHM_STAT
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0000));
  const int index = SlotIndexOf(seg.id());
  ASSERT_GE(index, 0);
  shmid_ds ds{};
  if (shmctl(index, SHM_STAT_ANY, &ds) == -1 && errno == EINVAL)
    FEATURE_MISSING(linux_feature::kShmStatAny, "shmctl(SHM_STAT_ANY) fails with EINVAL");
  const int id = seg.id();
  EXPECT_THAT(RunAsUser([index, id] {
                shmid_ds buf{};
                CHILD_CHECK_ERRNO(shmctl(index, SHM_STAT, &buf), EACCES);
                CHILD_CHECK_ERRNO(shmctl(id, IPC_STAT, &buf), EACCES);
                CHILD_CHECK(shmctl(index, SHM_STAT_ANY, &buf) == id);
                CHILD_CHECK(buf.shm_perm.mode == 0 && buf.shm_perm.uid == 0);
              }),
              ExitedWithCode(0));
}

TEST(ShmctlTest, ShmLockAndUnlockToggleShmLocked) {
  REQUIREMENTS("SYSV.SHMCTL.LOCK");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  ASSERT_THAT(shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceedsWithValue(0));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.mode, 0600u | SHM_LOCKED);
  EXPECT_THAT(shmctl(seg.id(), SHM_LOCK, nullptr), SyscallSucceedsWithValue(0));  // idempotent
  ASSERT_THAT(shmctl(seg.id(), SHM_UNLOCK, nullptr), SyscallSucceedsWithValue(0));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.mode, 0600u);
}

TEST(ShmctlTest, UnprivilegedLockNeedsOwnershipAndAMemlockLimit) {
  REQUIREMENTS("SYSV.SHMCTL.LOCK_EPERM");
  SKIP_UNLESS_CAN_CHANGE_UID();
  auto foreign = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0666));
  auto owned = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  ASSERT_NO_ERRNO(GiveToCaller(owned.id(), Caller::kOwner, 0600));
  const int foreign_id = foreign.id(), owned_id = owned.id();
  EXPECT_THAT(RunAsUser([foreign_id, owned_id] {
                CHILD_CHECK_ERRNO(shmctl(foreign_id, SHM_LOCK, nullptr), EPERM);
                CHILD_CHECK_ERRNO(shmctl(foreign_id, SHM_UNLOCK, nullptr), EPERM);
                const rlimit none{0, 0};
                CHILD_CHECK_SUCCESS(setrlimit(RLIMIT_MEMLOCK, &none));
                CHILD_CHECK_ERRNO(shmctl(owned_id, SHM_LOCK, nullptr), EPERM);
                CHILD_CHECK_SUCCESS(shmctl(owned_id, SHM_UNLOCK, nullptr));
              }),
              ExitedWithCode(0));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(owned_id)).shm_perm.mode, 0600u);
}

// The limit counts every segment the user has locked, so the caller is a uid
// no account uses: its locked-memory account starts empty and is nobody
// else's, which makes the sums exact.
TEST(ShmctlTest, UnprivilegedLockBeyondMemlockLimitFailsWithENOMEM) {
  REQUIREMENTS("SYSV.SHMCTL.LOCK_ENOMEM");
  SKIP_UNLESS_CAN_CHANGE_UID();
  const size_t page = PageSize();
  const uid_t uid = UnusedUid();
  auto one = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, page, IPC_CREAT | 0600));
  auto two = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 2 * page, IPC_CREAT | 0600));
  auto three = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 3 * page, IPC_CREAT | 0600));
  for (const SysvSegment* seg : {&one, &two, &three}) ASSERT_NO_ERRNO(sysv::SetOwnerAndMode(seg->id(), uid, uid, 0600));
  const int a = one.id(), b = two.id(), c = three.id();
  EXPECT_THAT(RunAsUser(
                  [=] {
                    const rlimit limit{2 * page, 2 * page};
                    CHILD_CHECK_SUCCESS(setrlimit(RLIMIT_MEMLOCK, &limit));
                    CHILD_CHECK_ERRNO(shmctl(c, SHM_LOCK, nullptr), ENOMEM);  // 3 pages > 2 on its own
                    CHILD_CHECK_SUCCESS(shmctl(a, SHM_LOCK, nullptr));
                    CHILD_CHECK_ERRNO(shmctl(b, SHM_LOCK, nullptr), ENOMEM);  // 1 + 2 pages > 2 in total
                    CHILD_CHECK_SUCCESS(shmctl(a, SHM_UNLOCK, nullptr));      // unlocking gives the page back
                    CHILD_CHECK_SUCCESS(shmctl(b, SHM_LOCK, nullptr));        // exactly 2 pages fit
                  },
                  uid, uid),
              ExitedWithCode(0));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(c)).shm_perm.mode, 0600u);
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(b)).shm_perm.mode, 0600u | SHM_LOCKED);
}

// Every column of the segment's row, after attach, detach, IPC_SET and
// SHM_LOCK gave each field a distinctive value.
TEST(ShmctlTest, ProcSysvipcShmRowMatchesIpcStat) {
  REQUIREMENTS("SYSV.PROC.SYSVIPC_SHM");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, 3 * PageSize() + 7, IPC_CREAT | 0600));
  const int id = seg.id();
  if (const auto fresh = FindProcShmEntry(id)) {  // never attached: no attach time, no last pid
    const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
    EXPECT_EQ(fresh->size, ds.shm_segsz);
    EXPECT_EQ(fresh->nattch, 0u);
    EXPECT_EQ(fresh->atime, 0);
    EXPECT_EQ(fresh->lpid, ds.shm_lpid);
    EXPECT_EQ(fresh->ctime, ds.shm_ctime);
  }
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(id));
  EXPECT_THAT(RunInChild([id] { CHILD_CHECK(shmat(id, nullptr, SHM_RDONLY) != kFailed); }), ExitedWithCode(0));
  ASSERT_NO_ERRNO(sysv::SetOwnerAndMode(id, 4242, 4343, 0604));
  ASSERT_THAT(shmctl(id, SHM_LOCK, nullptr), SyscallSucceeds());
  if (!ReadProcSysvipcShm()) GTEST_SKIP() << "no /proc/sysvipc/shm here";
  for (bool marked : {false, true}) {
    if (marked) {
      ASSERT_THAT(shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
    }
    const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
    const auto row = FindProcShmEntry(id);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->key, ds.shm_perm.__key);
    EXPECT_EQ(row->perms, ds.shm_perm.mode);
    EXPECT_EQ(row->perms, marked ? 0604u | SHM_LOCKED | SHM_DEST : 0604u | SHM_LOCKED);
    EXPECT_EQ(row->size, ds.shm_segsz);
    EXPECT_EQ(row->cpid, ds.shm_cpid);
    EXPECT_EQ(row->lpid, ds.shm_lpid);
    EXPECT_EQ(row->nattch, ds.shm_nattch);
    EXPECT_EQ(row->uid, 4242u);
    EXPECT_EQ(row->gid, 4343u);
    EXPECT_EQ(row->cuid, ds.shm_perm.cuid);
    EXPECT_EQ(row->cgid, ds.shm_perm.cgid);
    EXPECT_EQ(row->atime, ds.shm_atime);
    EXPECT_EQ(row->dtime, ds.shm_dtime);
    EXPECT_EQ(row->ctime, ds.shm_ctime);
  }
}

TEST(ShmctlTest, ForcedRemovalDestroysASegmentWhenItsLastAttachmentGoes) {
  REQUIREMENTS("SYSV.PROC.RMID_FORCED");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  if (const auto why = WhyNoKernelSysctl("shm_rmid_forced"); why) GTEST_SKIP() << *why;
  EXPECT_THAT(RunInPrivateIpcNamespace([] {
                CHILD_CHECK(WriteKernelSysctl("shm_rmid_forced", 1));
                const int id = shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
                CHILD_CHECK(id >= 0);
                void* p = shmat(id, nullptr, 0);
                CHILD_CHECK(p != kFailed);
                shmid_ds ds{};
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_STAT, &ds));
                CHILD_CHECK_SUCCESS(shmdt(p));
                CHILD_CHECK_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL);
              }),
              ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
