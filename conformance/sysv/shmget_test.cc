// shmget(2): creating and finding System V shared memory segments.
#include <sys/ipc.h>
#include <sys/shm.h>

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(ShmgetTest, ExclusiveCreateOfExistingKeyFailsWithEEXIST) {
  REQUIREMENTS("SYSV.SHMGET.EXCL_EXISTS");
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  EXPECT_THAT(shmget(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600), SyscallFailsWithErrno(EEXIST));
  // The failed call must not have replaced the segment.
  EXPECT_THAT(shmget(key, 0, 0), SyscallSucceedsWithValue(seg.id()));
}

// Sizes are functions of the page size, which is only known at run time.
struct SizeCase {
  const char* name;
  size_t (*bytes)();
};

class ShmgetSizeTest : public ::testing::TestWithParam<SizeCase> {};

// The memory behind a segment is whole pages, though IPC_STAT keeps the size
// asked for: write to the last byte of the last page, fault on the next page.
TEST_P(ShmgetSizeTest, AllocationIsRoundedUpToWholePagesAndStatKeepsRequestedSize) {
  REQUIREMENTS("SYSV.SHMGET.SIZE_ROUNDED", "SYSV.SHMCTL.STAT_SEGSZ");
  const size_t requested = GetParam().bytes();
  const size_t rounded = RoundUpToPage(requested);
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, requested, IPC_CREAT | 0600));

  struct shmid_ds ds{};
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

INSTANTIATE_TEST_SUITE_P(
    Sizes, ShmgetSizeTest,
    ::testing::Values(SizeCase{"OneByte", [] { return size_t{1}; }},
                      SizeCase{"HalfPage", [] { return PageSize() / 2; }},
                      SizeCase{"OnePage", [] { return PageSize(); }},
                      SizeCase{"PagePlusOne", [] { return PageSize() + 1; }},
                      SizeCase{"ThreePagesPlusOne", [] { return 3 * PageSize() + 1; }}),
    [](const ::testing::TestParamInfo<SizeCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace shmconform
