// shmat(2): attaching System V shared memory segments.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/environment_probes.h"
#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform {
namespace {

using sysv::Between;
using sysv::Caller;
using sysv::GiveToCaller;
using sysv::KernelSeconds;
using sysv::StatOf;

void* const kFailed = reinterpret_cast<void*>(-1);

char* At(void* base, size_t offset) { return static_cast<char*>(base) + offset; }

TEST(ShmatTest, NullAddressAttachesAtAPageAlignedAddressOfTheSystemsChoice) {
  REQUIREMENTS("SYSV.SHMAT.NULL_ADDR");
  const size_t size = 2 * PageSize() + 1;
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, size, IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, 0));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(att.get()) % PageSize(), 0u);
  const auto maps = FindMapsEntry(att.get());
  ASSERT_TRUE(maps.has_value());
  EXPECT_EQ(maps->start, reinterpret_cast<uintptr_t>(att.get()));
  EXPECT_EQ(maps->end - maps->start, RoundUpToPage(size));
  EXPECT_EQ(maps->perms, "rw-s");
}

TEST(ShmatTest, AlignedAddressIsUsedExactly) {
  REQUIREMENTS("SYSV.SHMAT.EXPLICIT_ADDR");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  void* where = FindUnmappedRange(PageSize(), Shmlba());
  ASSERT_NE(where, nullptr);
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), where, 0));
  EXPECT_EQ(att.get(), where);
  const auto maps = FindMapsEntry(where);
  ASSERT_TRUE(maps.has_value());
  EXPECT_EQ(maps->start, reinterpret_cast<uintptr_t>(where));
}

TEST(ShmatTest, UnalignedAddressWithoutShmRndFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMAT.UNALIGNED_EINVAL");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  void* where = FindUnmappedRange(2 * PageSize(), Shmlba());
  ASSERT_NE(where, nullptr);
  EXPECT_THAT(shmat(seg.id(), At(where, 1), 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmat(seg.id(), At(where, PageSize() / 2), SHM_RDONLY), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
}

// SHM_RND rounds down to SHMLBA (the page size, or more on some arches).
TEST(ShmatTest, ShmRndRoundsTheAddressDownToShmlba) {
  REQUIREMENTS("SYSV.SHMAT.RND");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  void* base = FindUnmappedRange(Shmlba() + PageSize(), Shmlba());
  ASSERT_NE(base, nullptr);
  for (size_t offset : {size_t{1}, Shmlba() / 2, Shmlba() - 1}) {
    auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), At(base, offset), SHM_RND));
    EXPECT_EQ(att.get(), base) << "offset " << offset;
  }
}

// The range overlaps a private mapping in its last page only.
TEST(ShmatTest, AddressOverlappingAMappingFailsWithEINVALWithoutShmRemap) {
  REQUIREMENTS("SYSV.SHMAT.OVERLAP_EINVAL");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 2 * PageSize(), IPC_CREAT | 0600));
  char* where = static_cast<char*>(FindUnmappedRange(2 * PageSize(), Shmlba()));
  ASSERT_NE(where, nullptr);
  auto other = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(where + PageSize(), PageSize(), PROT_READ | PROT_WRITE,
                                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  other.bytes()[0] = 'm';
  EXPECT_THAT(shmat(seg.id(), where, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(other.bytes()[0], 'm');
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
}

TEST(ShmatTest, ShmRemapReplacesAnExistingMapping) {
  REQUIREMENTS("SYSV.SHMAT.REMAP");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 2 * PageSize(), IPC_CREAT | 0600));
  auto writer = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  // Every access to the attachments is made in a child (which shares them):
  // where a broken kernel left no writable segment, the fault fails the test
  // instead of ending the test binary.
  char* const stored = At(writer.get(), PageSize());
  ASSERT_THAT(RunInChild([stored] { std::strcpy(stored, "segment"); }), ExitedWithCode(0))
      << "storing through a read-write attachment";
  char* where = static_cast<char*>(FindUnmappedRange(2 * PageSize(), Shmlba()));
  ASSERT_NE(where, nullptr);
  auto other = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(where, 2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  std::memset(other.bytes(), 'm', 2 * PageSize());
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), where, SHM_REMAP));
  EXPECT_EQ(att.get(), where);
  const size_t page = PageSize();
  EXPECT_THAT(RunInChild([where, page] {
                CHILD_CHECK(where[0] == '\0');                              // not the old mapping's 'm'
                CHILD_CHECK(std::memcmp(where + page, "segment", 8) == 0);  // the segment's second page
              }),
              ExitedWithCode(0));
  EXPECT_EQ(sysv::PermsAt(where), "rw-s");
  other.release();  // the attachment took its range
}

TEST(ShmatTest, ShmRemapWithNullAddressFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMAT.REMAP_NULL_EINVAL");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  EXPECT_THAT(shmat(seg.id(), nullptr, SHM_REMAP), SyscallFailsWithErrno(EINVAL));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
}

TEST(ShmatTest, WriteThroughReadOnlyAttachmentFaultsWithSegvAccerr) {
  REQUIREMENTS("SYSV.SHMAT.RDONLY_WRITE_FAULTS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 2 * PageSize(), IPC_CREAT | 0600));
  auto rw = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  std::strcpy(At(rw.get(), PageSize()), "readable");
  auto ro = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_STREQ(At(ro.get(), PageSize()), "readable");
  volatile char* target = At(ro.get(), PageSize() + 3);
  EXPECT_THAT(RunInChild([target] { *target = 'x'; }), FaultedWith(SIGSEGV, SEGV_ACCERR, target));
  EXPECT_STREQ(At(rw.get(), PageSize()), "readable");
}

// The attachment never had write access to give (no VM_MAYWRITE).
TEST(ShmatTest, ReadOnlyAttachmentCannotBeMadeWritableWithMprotect) {
  REQUIREMENTS("SYSV.SHMAT.RDONLY_NO_MPROTECT_WRITE");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto ro = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  EXPECT_THAT(mprotect(ro.get(), PageSize(), PROT_READ | PROT_WRITE), SyscallFailsWithErrno(EACCES));
  EXPECT_EQ(sysv::PermsAt(ro.get()), "r--s");
}

struct AttachPermissionCase {
  const char* name;
  mode_t mode;
  Caller caller;
  int shmflg;
  int expected_errno;  // 0: the attach succeeds and the access works
  const char* requirement;
};
void PrintTo(const AttachPermissionCase& c, std::ostream* os) { PrintRequirementRow(c.name, c.requirement, os); }

class ShmatPermissionTest : public ::testing::TestWithParam<AttachPermissionCase> {};

TEST_P(ShmatPermissionTest, AttachIsCheckedAgainstTheCallersClassOfModeBits) {
  ROW_REQUIREMENTS(GetParam().requirement);
  SKIP_UNLESS_CAN_CHANGE_UID();
  const AttachPermissionCase c = GetParam();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  ASSERT_NO_ERRNO(GiveToCaller(seg.id(), c.caller, c.mode));
  const int id = seg.id();
  EXPECT_THAT(RunAsUser([c, id] {
                const long attached = CHILD_CHECK_RESULT(shmat(id, nullptr, c.shmflg), c.expected_errno);
                if (c.expected_errno != 0) return;  // nothing to touch
                volatile char* p = reinterpret_cast<char*>(attached);
                CHILD_CHECK_EQ(p[0], 0);
                if (!(c.shmflg & SHM_RDONLY)) p[0] = 1;
              }),
              ExitedWithCode(0));
}

constexpr char kRw[] = "SYSV.SHMAT.PERM_RW";
constexpr char kRo[] = "SYSV.SHMAT.PERM_RDONLY";
constexpr char kClasses[] = "SYSV.IPC.PERM_CLASSES";
constexpr char kExecBits[] = "SYSV.SHMGET.EXEC_BITS_UNUSED";

INSTANTIATE_TEST_SUITE_P(
    Modes, ShmatPermissionTest,
    ::testing::Values(
        AttachPermissionCase{"OwnerReadWrite", 0600, Caller::kOwner, 0, 0, kRw},
        AttachPermissionCase{"OwnerReadOnlyDeniesReadWrite", 0400, Caller::kOwner, 0, EACCES, kRw},
        AttachPermissionCase{"OwnerWriteOnlyDeniesReadWrite", 0200, Caller::kOwner, 0, EACCES, kRw},
        AttachPermissionCase{"OwnerReadOnlyAllowsRdonly", 0400, Caller::kOwner, SHM_RDONLY, 0, kRo},
        AttachPermissionCase{"OwnerWriteOnlyDeniesRdonly", 0200, Caller::kOwner, SHM_RDONLY, EACCES, kRo},
        AttachPermissionCase{"GroupReadWrite", 0060, Caller::kGroup, 0, 0, kRw},
        AttachPermissionCase{"GroupReadOnlyDeniesReadWrite", 0040, Caller::kGroup, 0, EACCES, kRw},
        AttachPermissionCase{"GroupReadOnlyAllowsRdonly", 0040, Caller::kGroup, SHM_RDONLY, 0, kRo},
        AttachPermissionCase{"OtherReadWrite", 0006, Caller::kOther, 0, 0, kRw},
        AttachPermissionCase{"OtherReadOnlyDeniesReadWrite", 0004, Caller::kOther, 0, EACCES, kRw},
        AttachPermissionCase{"OtherReadOnlyAllowsRdonly", 0004, Caller::kOther, SHM_RDONLY, 0, kRo},
        AttachPermissionCase{"OtherNothingDeniesRdonly", 0660, Caller::kOther, SHM_RDONLY, EACCES, kRo},
        AttachPermissionCase{"OwnerClassDecidesThoughOthersGrant", 0066, Caller::kOwner, SHM_RDONLY, EACCES, kClasses},
        AttachPermissionCase{"GroupClassDecidesThoughOthersGrant", 0606, Caller::kGroup, SHM_RDONLY, EACCES, kClasses},
        AttachPermissionCase{"OwnerExecuteBitGrantsNoRead", 0177, Caller::kOwner, SHM_RDONLY, EACCES, kExecBits},
        AttachPermissionCase{"OtherExecuteBitGrantsNoRead", 0661, Caller::kOther, SHM_RDONLY, EACCES, kExecBits}),
    [](const ::testing::TestParamInfo<AttachPermissionCase>& info) { return std::string(info.param.name); });

TEST(ShmatTest, PrivilegedCallerAttachesWhateverTheMode) {
  REQUIREMENTS("SYSV.SHMAT.CAP_IPC_OWNER");
  SKIP_WITHOUT_CAPABILITY(CAP_IPC_OWNER);
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0000));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, 0));
  att.as<char>()[0] = 'w';
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 1u);
}

// The mapping's protection as /proc/self/maps shows it.
TEST(ShmatTest, ShmExecMakesTheAttachmentExecutable) {
  REQUIREMENTS("SYSV.SHMAT.EXEC");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0700));
  auto plain = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, 0));
  auto exec = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, SHM_EXEC));
  auto exec_ro = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, SHM_EXEC | SHM_RDONLY));
  EXPECT_EQ(sysv::PermsAt(plain.get()), "rw-s");
  EXPECT_EQ(sysv::PermsAt(exec.get()), "rwxs");
  EXPECT_EQ(sysv::PermsAt(exec_ro.get()), "r-xs");
}

TEST(ShmatTest, ShmExecNeedsExecutePermission) {
  REQUIREMENTS("SYSV.SHMAT.EXEC_PERM");
  SKIP_UNLESS_CAN_CHANGE_UID();
  auto denied = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0606));
  auto granted = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0607));
  const int denied_id = denied.id(), granted_id = granted.id();
  EXPECT_THAT(RunAsUser([denied_id, granted_id] {
                CHILD_CHECK_ERRNO(shmat(denied_id, nullptr, SHM_EXEC), EACCES);
                CHILD_CHECK_ERRNO(shmat(denied_id, nullptr, SHM_EXEC | SHM_RDONLY), EACCES);
                CHILD_CHECK(shmat(denied_id, nullptr, 0) != kFailed);
                CHILD_CHECK(shmat(granted_id, nullptr, SHM_EXEC) != kFailed);
              }),
              ExitedWithCode(0));
}

TEST(ShmatTest, SameSegmentAttachedTwiceAliasesTheSameMemory) {
  REQUIREMENTS("SYSV.SHMAT.ALIAS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 2 * PageSize(), IPC_CREAT | 0600));
  auto a = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  auto b = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  ASSERT_NE(a.get(), b.get());
  std::strcpy(At(a.get(), PageSize() + 7), "through a");
  EXPECT_STREQ(At(b.get(), PageSize() + 7), "through a");
  std::strcpy(b.as<char>(), "through b");
  EXPECT_STREQ(a.as<char>(), "through b");
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 2u);
}

TEST(ShmatTest, ReadOnlyAndReadWriteAttachmentsCoexist) {
  REQUIREMENTS("SYSV.SHMAT.RDONLY_AND_RW");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto ro = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, SHM_RDONLY));
  auto rw = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), nullptr, 0));
  std::strcpy(rw.as<char>(), "visible read-only");
  EXPECT_STREQ(ro.as<char>(), "visible read-only");
  EXPECT_EQ(sysv::PermsAt(ro.get()), "r--s");
  EXPECT_EQ(sysv::PermsAt(rw.get()), "rw-s");
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 2u);
}

// The new address is chosen while the first attachment still holds its range,
// so the reattach is guaranteed to be elsewhere.
TEST(ShmatTest, DataPersistsAcrossDetachAndReattachElsewhere) {
  REQUIREMENTS("SYSV.SHMAT.PERSISTS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  void* first = shmat(seg.id(), nullptr, 0);
  ASSERT_THAT(first, SyscallSucceeds());
  std::strcpy(static_cast<char*>(first), "kept");
  void* elsewhere = FindUnmappedRange(PageSize(), Shmlba());
  ASSERT_THAT(shmdt(first), SyscallSucceeds());
  auto again = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id(), elsewhere, 0));
  EXPECT_NE(again.get(), first);
  EXPECT_STREQ(again.as<char>(), "kept");
}

// A child attaches (so shm_lpid can only be right if it names the child), then
// holds still while the parent reads the fields.
TEST(ShmatTest, AttachSetsAtimeAndLpidAndIncrementsNattch) {
  REQUIREMENTS("SYSV.SHMAT.STAT_UPDATE");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const int id = seg.id();
  Notification attached, done;
  const time_t before = KernelSeconds();
  auto child = AsyncChild::Start([&] {
    CHILD_CHECK(shmat(id, nullptr, 0) != kFailed);
    attached.Notify();
    CHILD_CHECK(done.WaitForNotification());
  });
  ASSERT_TRUE(attached.WaitForNotification());
  const time_t after = KernelSeconds();
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
  done.Notify();
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_lpid, child.pid());
  EXPECT_THAT(ds.shm_atime, Between(before, after));
  EXPECT_EQ(ds.shm_dtime, 0);
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
}

TEST(ShmatTest, SegmentMarkedForDestructionCanStillBeAttachedById) {
  REQUIREMENTS("SYSV.SHMAT.MARKED_BY_ID");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto first = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  std::strcpy(first.as<char>(), "marked");
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  auto second = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  EXPECT_STREQ(second.as<char>(), "marked");
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 2u);
}

TEST(ShmatTest, IdentifierThatNamesNoSegmentFailsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMAT.INVALID_ID");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const int removed = seg.id();
  seg.reset();
  EXPECT_THAT(shmat(-1, nullptr, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmat(removed, nullptr, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmat(removed, nullptr, SHM_RDONLY), SyscallFailsWithErrno(EINVAL));
}

// In a child (its heap may be moved freely): the break does not move, and the
// heap can still grow over the pages after it, so the attachment was not put
// in its way.
TEST(ShmatTest, AttachLeavesTheProgramBreakAlone) {
  REQUIREMENTS("SYSV.SHMAT.BRK_UNCHANGED");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 4 * PageSize(), IPC_CREAT | 0600));
  const int id = seg.id();
  const size_t growth = 16 * PageSize();
  EXPECT_THAT(RunInChild([id, growth] {
                char* const brk_before = static_cast<char*>(sbrk(0));
                char* const p = static_cast<char*>(shmat(id, nullptr, 0));
                CHILD_CHECK(p != kFailed);
                CHILD_CHECK(sbrk(0) == brk_before);
                CHILD_CHECK(p + 4 * PageSize() <= brk_before || p >= brk_before + growth);
                CHILD_CHECK(sbrk(static_cast<intptr_t>(growth)) == brk_before);  // the heap still grows
                CHILD_CHECK(sbrk(0) == brk_before + growth);
                CHILD_CHECK_SUCCESS(shmdt(p));
              }),
              ExitedWithCode(0));
}

// The child attaches again while its inherited copy still occupies the
// parent's address, so its own attachment must land elsewhere.
TEST(ShmatTest, ProcessesAttachAtDifferentAddressesAndSeeTheSameData) {
  REQUIREMENTS("SYSV.SHMAT.PER_PROCESS_ADDRESS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  std::strcpy(att.as<char>(), "parent");
  char* const parent_addr = att.as<char>();
  const int id = seg.id();
  EXPECT_THAT(RunInChild([parent_addr, id] {
                char* own = static_cast<char*>(shmat(id, nullptr, 0));
                CHILD_CHECK(own != kFailed && own != parent_addr);
                CHILD_CHECK(std::strcmp(own, "parent") == 0);
                std::strcpy(own + 16, "child");
              }),
              ExitedWithCode(0));
  EXPECT_STREQ(parent_addr + 16, "child");
}

}  // namespace
}  // namespace shmconform
