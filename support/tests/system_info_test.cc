#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/owners.h"
#include "shmconform/system_info.h"

namespace shmconform {
namespace {

TEST(SystemInfoTest, PageSizeAndShmlbaArePowersOfTwoAndRelated) {
  const size_t page = PageSize();
  EXPECT_EQ(page & (page - 1), 0u);
  EXPECT_GE(Shmlba(), page);
  EXPECT_EQ(Shmlba() % page, 0u);
  EXPECT_EQ(RoundUpToPage(1), page);
  EXPECT_EQ(RoundUpToPage(page), page);
  EXPECT_EQ(RoundUpToPage(page + 1), 2 * page);
}

TEST(SystemInfoTest, ProcSysvipcShmRowMatchesTheSegment) {
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 1234, IPC_CREAT | 0640));
  const auto entry = FindProcShmEntry(seg.id());
  if (!ReadProcSysvipcShm()) GTEST_SKIP() << "/proc/sysvipc/shm is absent";
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->size, 1234u);
  EXPECT_EQ(entry->perms, 0640u);
  EXPECT_EQ(entry->cpid, getpid());
  EXPECT_EQ(entry->nattch, 0u);
  EXPECT_EQ(entry->uid, geteuid());
}

TEST(SystemInfoTest, MapsEntryShowsProtectionAndSharing) {
  auto m = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ, MAP_SHARED));
  const auto entry = FindMapsEntry(m.get());
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->perms, "r--s");
  EXPECT_LE(entry->start, m.addr());
  EXPECT_GT(entry->end, m.addr());
}

TEST(SystemInfoTest, ReadProcNumberOfMissingFileIsEmpty) {
  EXPECT_FALSE(ReadProcNumber("/proc/sys/kernel/no_such_file").has_value());
}

}  // namespace
}  // namespace shmconform
