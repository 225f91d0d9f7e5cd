// shmget(2): creating and finding System V shared memory segments.
#include <sys/ipc.h>
#include <sys/shm.h>

#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform {
namespace {

using sysv::Between;
using sysv::KernelSeconds;
using sysv::StatOf;

TEST(ShmgetTest, ExclusiveCreateOfExistingKeyFailsWithEEXIST) {
  REQUIREMENTS("SYSV.SHMGET.EXCL_EXISTS");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(shmget(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
  // The failed call must not have replaced the segment.
  EXPECT_THAT(shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
}

TEST(ShmgetTest, PrivateKeyAlwaysCreatesANewSegment) {
  REQUIREMENTS("SYSV.SHMGET.PRIVATE_NEW");
  auto a = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto b = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  EXPECT_GE(a.id(), 0);
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(a.id())).shm_perm.__key, IPC_PRIVATE);
}

// With IPC_PRIVATE only the low 9 bits of shmflg count: no IPC_CREAT is
// needed, and IPC_EXCL cannot fail.
TEST(ShmgetTest, PrivateKeyIgnoresCreateFlags) {
  REQUIREMENTS("SYSV.SHMGET.PRIVATE_IGNORES_FLAGS");
  auto plain = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), 0640));
  auto excl = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(plain.id(), excl.id());
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(plain.id())).shm_perm.mode, 0640u);
}

TEST(ShmgetTest, CreateOnUnusedKeyMakesSegmentFoundByThatKey) {
  REQUIREMENTS("SYSV.SHMGET.CREAT_NEW");
  const key_t key = UniqueIpcKey();
  ASSERT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | 0600));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_perm.__key, key);
  EXPECT_THAT(shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
}

// IPC_CREAT without IPC_EXCL opens what exists: same id, and neither the size
// nor the mode of the call is applied to it.
TEST(ShmgetTest, CreateOnExistingKeyReturnsItUnchanged) {
  REQUIREMENTS("SYSV.SHMGET.CREAT_EXISTING");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, 3 * PageSize(), IPC_CREAT | 0640));
  EXPECT_THAT(shmget(key, PageSize(), IPC_CREAT | 0666), SyscallSucceedsWithValue(seg.id()));
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_EQ(ds.shm_segsz, 3 * PageSize());
  EXPECT_EQ(ds.shm_perm.mode, 0640u);
}

TEST(ShmgetTest, MissingKeyWithoutCreateFailsWithENOENT) {
  REQUIREMENTS("SYSV.SHMGET.NOENT");
  const key_t key = UniqueIpcKey();
  EXPECT_THAT(shmget(key, PageSize(), 0600), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(shmget(key, 0, IPC_EXCL), SyscallFailsWithErrno(ENOENT));
}

TEST(ShmgetTest, CreateWithSizeZeroFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMGET.SIZE_BELOW_MIN");
  EXPECT_THAT(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmget(UniqueIpcKey(), 0, IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EINVAL));
}

// Opening an existing segment by key with various sizes. The segment's size
// is deliberately not a page multiple: the check is against shm_segsz, not
// against the rounded allocation.
struct OpenSizeCase {
  const char* name;
  size_t (*asked)(size_t segsz);
  int shmflg;
  int expected_errno;  // 0: opens the segment
  const char* requirement;
};
void PrintTo(const OpenSizeCase& c, std::ostream* os) { PrintRequirementRow(c.name, c.requirement, os); }

class ShmgetOpenSizeTest : public ::testing::TestWithParam<OpenSizeCase> {};

TEST_P(ShmgetOpenSizeTest, SizeIsCheckedAgainstTheExistingSegment) {
  ROW_REQUIREMENTS(GetParam().requirement);
  const size_t segsz = PageSize() / 2 + 3;
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, segsz, IPC_CREAT | 0600));
  const size_t asked = GetParam().asked(segsz);
  EXPECT_THAT(shmget(key, asked, GetParam().shmflg),
              SyscallSucceedsWithValueOrFailsWithErrno(seg.id(), GetParam().expected_errno));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_segsz, segsz);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, ShmgetOpenSizeTest,
    ::testing::Values(
        OpenSizeCase{"Zero", [](size_t) { return size_t{0}; }, 0, 0, "SYSV.SHMGET.SIZE_ZERO_EXISTING"},
        OpenSizeCase{"ZeroWithCreate", [](size_t) { return size_t{0}; }, IPC_CREAT | 0600, 0,
                     "SYSV.SHMGET.SIZE_ZERO_EXISTING"},
        OpenSizeCase{"OneByteSmaller", [](size_t s) { return s - 1; }, 0, 0, "SYSV.SHMGET.SIZE_ZERO_EXISTING"},
        OpenSizeCase{"Equal", [](size_t s) { return s; }, 0, 0, "SYSV.SHMGET.SIZE_ZERO_EXISTING"},
        OpenSizeCase{"OneByteLarger", [](size_t s) { return s + 1; }, 0, EINVAL, "SYSV.SHMGET.SIZE_ABOVE_EXISTING"},
        OpenSizeCase{"OneByteLargerWithCreate", [](size_t s) { return s + 1; }, IPC_CREAT | 0600, EINVAL,
                     "SYSV.SHMGET.SIZE_ABOVE_EXISTING"},
        OpenSizeCase{"RoundedAllocation", [](size_t s) { return RoundUpToPage(s); }, 0, EINVAL,
                     "SYSV.SHMGET.SIZE_ABOVE_EXISTING"}),
    [](const ::testing::TestParamInfo<OpenSizeCase>& info) { return std::string(info.param.name); });

// Sizes are functions of the page size, which is only known at run time.
struct SizeCase {
  const char* name;
  size_t (*bytes)();
};
void PrintTo(const SizeCase& c, std::ostream* os) { *os << c.name; }

class ShmgetSizeTest : public ::testing::TestWithParam<SizeCase> {};

// The memory behind a segment is whole pages, though IPC_STAT keeps the size
// asked for: write to the last byte of the last page, fault on the next page.
TEST_P(ShmgetSizeTest, AllocationIsRoundedUpToWholePagesAndStatKeepsRequestedSize) {
  REQUIREMENTS("SYSV.SHMGET.SIZE_ROUNDED", "SYSV.SHMCTL.STAT_SEGSZ");
  const size_t requested = GetParam().bytes();
  const size_t rounded = RoundUpToPage(requested);
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, requested, IPC_CREAT | 0600));

  struct shmid_ds ds {};
  ASSERT_THAT(shmctl(seg.id(), IPC_STAT, &ds), SyscallSucceeds());
  EXPECT_EQ(ds.shm_segsz, requested);

  // Attach where the range after the rounded size is known to be unmapped.
  void* where = FindUnmappedRange(rounded + PageSize(), Shmlba());
  ASSERT_NE(where, nullptr);
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), where, 0));
  ASSERT_EQ(att.get(), where);
  char* base = att.as<char>();
  std::memset(base, 0x5a, rounded);  // the whole rounded range is usable
  EXPECT_EQ(base[rounded - 1], 0x5a);
  volatile char* past_end = base + rounded;
  EXPECT_THAT(RunInChild([past_end] { (void)*past_end; }), FaultedWith(SIGSEGV, SEGV_MAPERR, past_end));
}

INSTANTIATE_TEST_SUITE_P(Sizes, ShmgetSizeTest,
                         ::testing::Values(SizeCase{"OneByte", [] { return size_t{1}; }},
                                           SizeCase{"HalfPage", [] { return PageSize() / 2; }},
                                           SizeCase{"OnePage", [] { return PageSize(); }},
                                           SizeCase{"PagePlusOne", [] { return PageSize() + 1; }},
                                           SizeCase{"ThreePagesPlusOne", [] { return 3 * PageSize() + 1; }}),
                         [](const ::testing::TestParamInfo<SizeCase>& info) { return std::string(info.param.name); });

// Every byte of the allocation reads zero, the slack after shm_segsz included.
TEST(ShmgetTest, NewSegmentIsZeroFilled) {
  REQUIREMENTS("SYSV.SHMGET.ZERO_FILLED");
  const size_t size = 3 * PageSize() + 1;
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, size, IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  const char* p = att.as<char>();
  size_t nonzero = 0;
  for (size_t i = 0; i < RoundUpToPage(size); ++i) nonzero += p[i] != 0;
  EXPECT_EQ(nonzero, 0u);
}

class ShmgetModeTest : public ::testing::TestWithParam<mode_t> {};

// shm_perm.mode is exactly the low 9 bits of shmflg: the flag bits above them
// (IPC_CREAT, IPC_EXCL) do not leak into it.
TEST_P(ShmgetModeTest, ModeIsTheLowNineBitsOfShmflg) {
  REQUIREMENTS("SYSV.SHMGET.MODE_LOW_BITS");
  auto seg =
      ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(UniqueIpcKey(), PageSize(), IPC_CREAT | IPC_EXCL | GetParam()));
  shmid_ds ds{};
  if (shmctl(seg.id(), IPC_STAT, &ds) == 0) {
    EXPECT_EQ(ds.shm_perm.mode, GetParam());
    return;
  }
  // An unprivileged owner without read permission cannot IPC_STAT; anyone
  // may read /proc/sysvipc/shm.
  ASSERT_EQ(errno, EACCES);
  const auto row = FindProcShmEntry(seg.id());
  if (!row) GTEST_SKIP() << "mode without read permission, no privilege, and no /proc/sysvipc/shm";
  EXPECT_EQ(row->perms, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Modes, ShmgetModeTest, ::testing::Values(0000, 0400, 0640, 0705, 0777));

// Creation initialises every field of shmid_ds (shmget(2) DESCRIPTION).
TEST(ShmgetTest, CreationInitialisesEveryStatField) {
  REQUIREMENTS("SYSV.SHMGET.INIT_STAT", "SYSV.SHMCTL.STAT_PERM");
  const key_t key = UniqueIpcKey();
  const time_t before = KernelSeconds();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, 5000, IPC_CREAT | 0640));
  const time_t after = KernelSeconds();
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_EQ(ds.shm_perm.__key, key);
  EXPECT_EQ(ds.shm_perm.uid, geteuid());
  EXPECT_EQ(ds.shm_perm.cuid, geteuid());
  EXPECT_EQ(ds.shm_perm.gid, getegid());
  EXPECT_EQ(ds.shm_perm.cgid, getegid());
  EXPECT_EQ(ds.shm_perm.mode, 0640u);
  EXPECT_EQ(ds.shm_segsz, 5000u);
  EXPECT_EQ(ds.shm_cpid, getpid());
  EXPECT_EQ(ds.shm_lpid, 0);
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_atime, 0);
  EXPECT_EQ(ds.shm_dtime, 0);
  EXPECT_THAT(ds.shm_ctime, Between(before, after));
}

// The owner and creator ids are the creator's effective ids (uid and gid
// deliberately different, so a swap shows).
TEST(ShmgetTest, CreatorsEffectiveIdsBecomeOwnerAndCreator) {
  REQUIREMENTS("SYSV.SHMGET.INIT_STAT", "SYSV.SHMCTL.STAT_PERM");
  SKIP_UNLESS_CAN_CHANGE_UID();
  constexpr uid_t kUid = kUnprivilegedUid;
  constexpr gid_t kGid = kUnprivilegedGid - 1;
  EXPECT_THAT(RunAsUser(
                  [] {
                    const int id = shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
                    CHILD_CHECK(id >= 0);
                    shmid_ds ds{};
                    const long rc = shmctl(id, IPC_STAT, &ds);
                    shmctl(id, IPC_RMID, nullptr);
                    CHILD_CHECK(rc == 0);
                    CHILD_CHECK(ds.shm_perm.uid == kUid && ds.shm_perm.cuid == kUid);
                    CHILD_CHECK(ds.shm_perm.gid == kGid && ds.shm_perm.cgid == kGid);
                  },
                  kUid, kGid),
              ExitedWithCode(0));
}

// Opening by key checks the access the low 9 bits of shmflg ask for against
// the segment's mode, IPC_CREAT or not. Execute bits grant nothing.
struct OpenPermissionCase {
  const char* name;
  mode_t segment_mode;  // root owns the segment: the child is in "others"
  int shmflg;
  int expected_errno;
  const char* requirement;
};
void PrintTo(const OpenPermissionCase& c, std::ostream* os) { PrintRequirementRow(c.name, c.requirement, os); }

class ShmgetPermissionTest : public ::testing::TestWithParam<OpenPermissionCase> {};

TEST_P(ShmgetPermissionTest, RequestedAccessIsCheckedWhenOpeningByKey) {
  ROW_REQUIREMENTS(GetParam().requirement);
  SKIP_UNLESS_CAN_CHANGE_UID();
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | GetParam().segment_mode));
  const OpenPermissionCase c = GetParam();
  const int id = seg.id();
  EXPECT_THAT(RunAsUser([key, c, id] {
                const long got = CHILD_CHECK_RESULT(shmget(key, 0, c.shmflg), c.expected_errno);
                CHILD_CHECK_EQ(got, c.expected_errno == 0 ? id : -1);
              }),
              ExitedWithCode(0));
}

INSTANTIATE_TEST_SUITE_P(
    Access, ShmgetPermissionTest,
    ::testing::Values(
        OpenPermissionCase{"ReadDenied", 0600, 0400, EACCES, "SYSV.SHMGET.EACCES"},
        OpenPermissionCase{"WriteDenied", 0604, 0200, EACCES, "SYSV.SHMGET.EACCES"},
        OpenPermissionCase{"ReadWriteWithOnlyRead", 0604, 0600, EACCES, "SYSV.SHMGET.EACCES"},
        OpenPermissionCase{"CreateFlagStillChecksAccess", 0600, IPC_CREAT | 0600, EACCES, "SYSV.SHMGET.EACCES"},
        OpenPermissionCase{"ReadGranted", 0604, 0400, 0, "SYSV.SHMGET.EACCES"},
        OpenPermissionCase{"NoAccessAskedNoneNeeded", 0600, 0, 0, "SYSV.SHMGET.EACCES"},
        OpenPermissionCase{"ExecuteBitDoesNotGrantRead", 0601, 0400, EACCES, "SYSV.SHMGET.EXEC_BITS_UNUSED"},
        OpenPermissionCase{"ExecuteBitDoesNotGrantWrite", 0601, 0200, EACCES, "SYSV.SHMGET.EXEC_BITS_UNUSED"}),
    [](const ::testing::TestParamInfo<OpenPermissionCase>& info) { return std::string(info.param.name); });

// Limits are lowered only inside a private IPC namespace, never on the host.
TEST(ShmgetTest, SizeAboveShmmaxFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMGET.SIZE_ABOVE_MAX");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  const size_t max = 2 * PageSize() + 5;
  EXPECT_THAT(RunInPrivateIpcNamespace([max] {
                CHILD_CHECK(WriteKernelSysctl("shmmax", max));
                CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, max + 1, IPC_CREAT | 0600), EINVAL);
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, max, IPC_CREAT | 0600));
              }),
              ExitedWithCode(0));
}

TEST(ShmgetTest, CreateBeyondShmmniFailsWithENOSPC) {
  REQUIREMENTS("SYSV.SHMGET.ENOSPC_SHMMNI");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  EXPECT_THAT(RunInPrivateIpcNamespace([] {
                CHILD_CHECK(WriteKernelSysctl("shmmni", 2));
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600));
                const int second = shmget(0x5c000001, 1, IPC_CREAT | 0600);
                CHILD_CHECK(second >= 0);
                CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600), ENOSPC);
                CHILD_CHECK_ERRNO(shmget(0x5c000002, 1, IPC_CREAT | 0600), ENOSPC);
                // Removing one frees its slot.
                CHILD_CHECK_SUCCESS(shmctl(second, IPC_RMID, nullptr));
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600));
              }),
              ExitedWithCode(0));
}

// SHMALL counts pages of every segment in the namespace.
TEST(ShmgetTest, CreateBeyondShmallFailsWithENOSPC) {
  REQUIREMENTS("SYSV.SHMGET.ENOSPC_SHMALL");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  const size_t page = PageSize();
  EXPECT_THAT(RunInPrivateIpcNamespace([page] {
                CHILD_CHECK(WriteKernelSysctl("shmall", 3));
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, 2 * page, IPC_CREAT | 0600));
                CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, page + 1, IPC_CREAT | 0600), ENOSPC);
                CHILD_CHECK_SUCCESS(shmget(IPC_PRIVATE, page, IPC_CREAT | 0600));
                CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600), ENOSPC);
              }),
              ExitedWithCode(0));
}

// Marking for destruction takes the segment's key away: the key finds
// nothing, and IPC_CREAT on it makes a new, different segment.
TEST(ShmgetTest, SegmentMarkedForDestructionIsNotFoundByKey) {
  REQUIREMENTS("SYSV.SHMGET.RMID_NOT_FOUND");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 1u);  // it still exists, by id
}

TEST(ShmgetTest, CreateOnKeyOfMarkedSegmentMakesANewSegment) {
  REQUIREMENTS("SYSV.SHMGET.RMID_CREAT_NEW");
  const key_t key = UniqueIpcKey();
  auto old_seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | 0600));
  auto old_att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(old_seg.id()));
  std::strcpy(old_att.as<char>(), "old");
  ASSERT_THAT(shmctl(old_seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  auto fresh = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_NE(fresh.id(), old_seg.id());
  auto fresh_att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(fresh.id()));
  EXPECT_EQ(fresh_att.as<char>()[0], '\0');
  EXPECT_STREQ(old_att.as<char>(), "old");
  EXPECT_THAT(shmget(key, 0, 0), SyscallSucceedsWithValue(fresh.id()));
}

// Two unrelated processes (fresh execs of this binary) that share nothing
// but a file path and a project id reach the same segment through ftok.
SHMCONFORM_SCENARIO(CreateByFtokKeyAndWrite) {
  const key_t key = ftok(args.at(0).c_str(), std::stoi(args.at(1)));
  if (key == -1) return 10;
  const int id = shmget(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) return 11;
  void* p = shmat(id, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return 12;
  std::strcpy(static_cast<char*>(p), args.at(2).c_str());
  std::printf("id=%d", id);
  return 0;  // exit detaches; the segment stays
}

SHMCONFORM_SCENARIO(OpenByFtokKeyAndRead) {
  const key_t key = ftok(args.at(0).c_str(), std::stoi(args.at(1)));
  if (key == -1) return 20;
  const int id = shmget(key, 0, 0);
  if (id < 0) return 21;
  const void* p = shmat(id, nullptr, SHM_RDONLY);
  if (p == reinterpret_cast<void*>(-1)) return 22;
  std::printf("id=%d data=%s", id, static_cast<const char*>(p));
  return 0;
}

TEST(ShmgetTest, UnrelatedProcessesReachTheSameSegmentThroughAnFtokKey) {
  REQUIREMENTS("SYSV.SHMGET.KEY_SHARED_UNRELATED", "SYSV.FTOK.STABLE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create());
  constexpr int kProjectId = 'S';
  const key_t key = ftok(file.path().c_str(), kProjectId);
  ASSERT_NE(key, -1);
  Cleanup remove([key] {
    if (const int id = shmget(key, 0, 0); id >= 0) shmctl(id, IPC_RMID, nullptr);
  });
  const std::vector<std::string> args = {file.path(), std::to_string(kProjectId), "via ftok"};
  ASSERT_EXEC_SCENARIO(writer, "CreateByFtokKeyAndWrite", args);
  ASSERT_THAT(writer.outcome, ExitedWithCode(0));
  ASSERT_EXEC_SCENARIO(reader, "OpenByFtokKeyAndRead", args);
  EXPECT_THAT(reader.outcome, ExitedWithCode(0));
  EXPECT_EQ(reader.output, writer.output + " data=via ftok");
  EXPECT_EQ(writer.output, "id=" + std::to_string(shmget(key, 0, 0)));
}

}  // namespace
}  // namespace shmconform
