// shmdt(2): detaching System V shared memory segments.
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

#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform {
namespace {

using sysv::Between;
using sysv::KernelSeconds;
using sysv::StatOf;

TEST(ShmdtTest, DetachReturnsZeroAndRemovesTheMapping) {
  REQUIREMENTS("SYSV.SHMDT.RETURNS_ZERO");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  void* p = shmat(seg.id(), nullptr, 0);
  ASSERT_THAT(p, SyscallSucceeds());
  EXPECT_THAT(shmdt(p), SyscallSucceedsWithValue(0));
  EXPECT_FALSE(FindMapsEntry(p).has_value());
}

TEST(ShmdtTest, AccessAfterDetachFaultsWithSegvMaperr) {
  REQUIREMENTS("SYSV.SHMDT.ACCESS_FAULTS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 2 * PageSize(), IPC_CREAT | 0600));
  char* p = static_cast<char*>(shmat(seg.id(), nullptr, 0));
  ASSERT_THAT(static_cast<void*>(p), SyscallSucceeds());  // a char* would be printed as a string
  p[PageSize()] = 'x';
  ASSERT_THAT(shmdt(p), SyscallSucceeds());
  volatile char* first = p;
  volatile char* second = p + PageSize() + 5;
  EXPECT_THAT(RunInChild([first] { (void)*first; }), FaultedWith(SIGSEGV, SEGV_MAPERR, first));
  EXPECT_THAT(RunInChild([second] { *second = 'y'; }), FaultedWith(SIGSEGV, SEGV_MAPERR, second));
}

// Addresses where no attachment starts, each built fresh by its row.
struct NotAttachedCase {
  const char* name;
  const char* requirement;
};
void PrintTo(const NotAttachedCase& c, std::ostream* os) { PrintRequirementRow(c.name, c.requirement, os); }

class ShmdtEinvalTest : public ::testing::TestWithParam<NotAttachedCase> {
 protected:
  void SetUp() override {
    auto seg = SysvSegment::Create(IPC_PRIVATE, 2 * PageSize(), IPC_CREAT | 0600);
    ASSERT_TRUE(seg.ok()) << seg.Describe();
    seg_ = std::move(seg).take();
    auto att = ShmAttachment::Attach(seg_.id());
    ASSERT_TRUE(att.ok()) << att.Describe();
    att_ = std::move(att).take();
    auto anon = Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE);
    ASSERT_TRUE(anon.ok()) << anon.Describe();
    anon_ = std::move(anon).take();
  }
  // The address the row names.
  void* Address() {
    const std::string name = GetParam().name;
    char* base = att_.as<char>();
    if (name == "Unmapped") return FindUnmappedRange(PageSize(), PageSize());
    if (name == "AnonymousMapping") return anon_.get();
    if (name == "InsideAttachment") return base + PageSize();
    if (name == "Unaligned") return base + 1;
    if (name == "UnalignedInsideAttachment") return base + PageSize() + 17;
    if (name == "AlreadyDetached") {
      void* extra = shmat(seg_.id(), nullptr, 0);
      EXPECT_THAT(shmdt(extra), SyscallSucceeds());
      return extra;
    }
    ADD_FAILURE() << "unknown row " << name;
    return nullptr;
  }
  SysvSegment seg_;
  ShmAttachment att_;
  Mapping anon_;
};

TEST_P(ShmdtEinvalTest, AddressWhereNoAttachmentStartsFailsWithEINVAL) {
  ROW_REQUIREMENTS(GetParam().requirement);
  void* addr = Address();
  const shmid_ds before = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg_.id()));
  EXPECT_THAT(shmdt(addr), SyscallFailsWithErrno(EINVAL));
  // Nothing was detached: the real attachment is whole and counted. (Looked
  // up, not touched: touching a wrongly detached range would crash the binary.)
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg_.id())).shm_nattch, before.shm_nattch);
  const auto maps = FindMapsEntry(att_.get());
  ASSERT_TRUE(maps.has_value());
  EXPECT_EQ(maps->end - maps->start, 2 * PageSize());
}

INSTANTIATE_TEST_SUITE_P(Addresses, ShmdtEinvalTest,
                         ::testing::Values(NotAttachedCase{"Unmapped", "SYSV.SHMDT.NOT_ATTACHED_EINVAL"},
                                           NotAttachedCase{"AnonymousMapping", "SYSV.SHMDT.NOT_ATTACHED_EINVAL"},
                                           NotAttachedCase{"InsideAttachment", "SYSV.SHMDT.NOT_ATTACHED_EINVAL"},
                                           NotAttachedCase{"AlreadyDetached", "SYSV.SHMDT.NOT_ATTACHED_EINVAL"},
                                           NotAttachedCase{"Unaligned", "SYSV.SHMDT.UNALIGNED_EINVAL"},
                                           NotAttachedCase{"UnalignedInsideAttachment", "SYSV.SHMDT.UNALIGNED_EINVAL"}),
                         [](const ::testing::TestParamInfo<NotAttachedCase>& info) {
                           return std::string(info.param.name);
                         });

// The parent attaches, a forked child (two attachments now) detaches its
// copy: shm_lpid can only be the child's pid if the detach set it.
TEST(ShmdtTest, DetachSetsDtimeAndLpidAndDecrementsNattch) {
  REQUIREMENTS("SYSV.SHMDT.STAT_UPDATE");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  void* const addr = att.get();
  const int id = seg.id();
  Notification detached, done;
  const time_t before = KernelSeconds();
  auto child = AsyncChild::Start([&] {
    CHILD_CHECK_SUCCESS(shmdt(addr));
    detached.Notify();
    CHILD_CHECK(done.WaitForNotification());
  });
  ASSERT_TRUE(detached.WaitForNotification());
  const time_t after = KernelSeconds();
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
  done.Notify();
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_lpid, child.pid());
  EXPECT_THAT(ds.shm_dtime, Between(before, after));
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
}

TEST(ShmdtTest, LastDetachOfMarkedSegmentDestroysIt) {
  REQUIREMENTS("SYSV.SHMDT.LAST_DETACH_DESTROYS_MARKED");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  void* a = shmat(seg.id(), nullptr, 0);
  void* b = shmat(seg.id(), nullptr, SHM_RDONLY);
  ASSERT_THAT(a, SyscallSucceeds());
  ASSERT_THAT(b, SyscallSucceeds());
  ASSERT_THAT(shmctl(seg.id(), IPC_RMID, nullptr), SyscallSucceeds());
  ASSERT_THAT(shmdt(a), SyscallSucceeds());
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 1u);  // one attachment left: not yet
  ASSERT_THAT(shmdt(b), SyscallSucceeds());
  shmid_ds ds{};
  EXPECT_THAT(shmctl(seg.id(), IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(shmat(seg.id(), nullptr, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_FALSE(FindProcShmEntry(seg.id()).has_value());
}

TEST(ShmdtTest, ChildDetachingItsInheritedCopyLeavesTheParentsAttachment) {
  REQUIREMENTS("SYSV.SHMDT.CHILD_INDEPENDENT");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  void* const addr = att.get();
  EXPECT_THAT(RunInChild([addr] {
                CHILD_CHECK_SUCCESS(shmdt(addr));
                CHILD_CHECK_ERRNO(shmdt(addr), EINVAL);
              }),
              ExitedWithCode(0));
  std::strcpy(att.as<char>(), "still mapped here");
  EXPECT_STREQ(att.as<char>(), "still mapped here");
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 1u);
}

}  // namespace
}  // namespace shmconform
