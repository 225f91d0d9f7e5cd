// Huge pages: MAP_HUGETLB (mmap) and SHM_HUGETLB (System V shm). Tests that
// need huge pages run only where the administrator configured some (this
// suite never changes vm.nr_hugepages) and skip with the reason elsewhere;
// where none are configured the documented ENOMEM is checked instead.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

// A "Name: N" line of /proc/meminfo.
std::optional<uint64_t> Meminfo(const std::string& name) {
  const auto text = ReadFile("/proc/meminfo");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0) return std::stoull(line.substr(name.size() + 1));
  return std::nullopt;
}

struct HugePages {
  size_t size = 0;    // bytes, 0 when the kernel has no hugetlb support
  uint64_t free = 0;  // HugePages_Free
  uint64_t overcommit = 0;
};

HugePages ProbeHugePages() {
  HugePages hp;
  const auto kb = Meminfo("Hugepagesize");
  if (!kb || !ReadProcNumber("/proc/sys/vm/nr_hugepages")) return hp;
  hp.size = *kb * 1024;
  hp.free = Meminfo("HugePages_Free").value_or(0);
  hp.overcommit = ReadProcNumber("/proc/sys/vm/nr_overcommit_hugepages").value_or(0);
  return hp;
}

#define SKIP_UNLESS_FREE_HUGE_PAGES(hp, n)                                                                   \
  do {                                                                                                       \
    if ((hp).size == 0) GTEST_SKIP() << "kernel without hugetlb support (no Hugepagesize in /proc/meminfo)"; \
    if ((hp).free < (n) && (hp).overcommit == 0)                                                             \
      GTEST_SKIP() << "needs " << (n) << " free huge page(s); vm.nr_hugepages leaves " << (hp).free          \
                   << " free (this suite never changes it)";                                                 \
  } while (0)

TEST(HugetlbTest, MapHugetlbUsesHugePagesAlignedToTheirSize) {
  REQUIREMENTS("MMAP.HUGETLB.MAP");
  const HugePages hp = ProbeHugePages();
  SKIP_UNLESS_FREE_HUGE_PAGES(hp, 1u);
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(hp.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_HUGETLB));
  EXPECT_EQ(map.addr() % hp.size, 0u);
  EXPECT_EQ(map.bytes()[hp.size - 1], '\0');
  std::memset(map.bytes(), 'h', hp.size);
  EXPECT_EQ(map.bytes()[hp.size - 1], 'h');
  EXPECT_EQ(SmapsField(map.get(), "KernelPageSize"), std::optional<long>(hp.size / 1024));
}

TEST(HugetlbTest, MapHugetlbLengthIsRoundedUpToAHugePage) {
  REQUIREMENTS("MMAP.HUGETLB.LENGTH_ROUNDED");
  const HugePages hp = ProbeHugePages();
  SKIP_UNLESS_FREE_HUGE_PAGES(hp, 1u);
  auto map =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_HUGETLB));
  Mapping whole(map.release(), hp.size);  // unmap the whole huge page
  const auto entry = FindMapsEntry(whole.get());
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->end - entry->start, hp.size);
  whole.bytes()[hp.size - 1] = 'e';  // the rounded-up part is usable
}

TEST(HugetlbTest, MunmapInsideAHugePageFailsWithEINVAL) {
  REQUIREMENTS("MMAP.HUGETLB.MUNMAP_UNALIGNED");
  const HugePages hp = ProbeHugePages();
  SKIP_UNLESS_FREE_HUGE_PAGES(hp, 1u);
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(hp.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_HUGETLB));
  std::strcpy(map.bytes(), "whole");
  EXPECT_THAT(munmap(map.bytes() + PageSize(), PageSize()), SyscallFailsWithErrno(EINVAL));
  EXPECT_STREQ(map.bytes(), "whole");
}

TEST(HugetlbTest, SharedHugetlbMappingIsSharedWithForkedChild) {
  REQUIREMENTS("MMAP.HUGETLB.MAP");
  const HugePages hp = ProbeHugePages();
  SKIP_UNLESS_FREE_HUGE_PAGES(hp, 1u);
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(hp.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_HUGETLB));
  char* p = map.bytes() + hp.size - 16;
  EXPECT_THAT(RunInChild([p] { std::strcpy(p, "child"); }), ExitedWithCode(0));
  EXPECT_STREQ(p, "child");
}

TEST(HugetlbTest, ShmHugetlbSegmentIsBackedByHugePages) {
  REQUIREMENTS("MMAP.HUGETLB.SHM");
  const HugePages hp = ProbeHugePages();
  SKIP_UNLESS_FREE_HUGE_PAGES(hp, 1u);
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, hp.size, IPC_CREAT | SHM_HUGETLB | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(att.get()) % hp.size, 0u);
  std::memset(att.get(), 's', hp.size);
  EXPECT_EQ(SmapsField(att.get(), "KernelPageSize"), std::optional<long>(hp.size / 1024));
  shmid_ds ds{};
  ASSERT_THAT(shmctl(seg.id(), IPC_STAT, &ds), SyscallSucceeds());
  EXPECT_EQ(ds.shm_segsz, hp.size);
}

// Where huge pages exist in the kernel but none are configured, a request
// for one cannot be satisfied.
TEST(HugetlbTest, WithoutConfiguredHugePagesRequestsFailWithENOMEM) {
  REQUIREMENTS("MMAP.HUGETLB.NONE_CONFIGURED_ENOMEM");
  const HugePages hp = ProbeHugePages();
  if (hp.size == 0) GTEST_SKIP() << "kernel without hugetlb support (no Hugepagesize in /proc/meminfo)";
  if (hp.free != 0 || hp.overcommit != 0)
    GTEST_SKIP() << "huge pages are configured here (" << hp.free << " free, " << hp.overcommit << " overcommit)";
  EXPECT_THAT(mmap(nullptr, hp.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0),
              SyscallFailsWithErrno(ENOMEM));
  EXPECT_THAT(mmap(nullptr, hp.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0),
              SyscallFailsWithErrno(ENOMEM));
  const int id = shmget(IPC_PRIVATE, hp.size, IPC_CREAT | SHM_HUGETLB | 0600);
  SysvSegment owner(id >= 0 ? id : -1);
  EXPECT_THAT(id, SyscallFailsWithErrno(ENOMEM));
}

}  // namespace
}  // namespace shmconform
