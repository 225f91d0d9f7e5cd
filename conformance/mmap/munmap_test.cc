// munmap(2): removing mappings, whole pages at a time; exit and exec remove
// every mapping and leave file data in place.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(MunmapTest, AccessAfterUnmapRaisesSegvMaperrAtTheAddress) {
  REQUIREMENTS("MMAP.MUNMAP.ACCESS_FAULTS");
  void* addr = mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_THAT(addr, SyscallSucceeds());
  volatile char* p = static_cast<char*>(addr) + 17;
  *p = 1;
  ASSERT_THAT(munmap(addr, PageSize()), SyscallSucceeds());
  EXPECT_THAT(RunInChild([p] { (void)*p; }), FaultedWith(SIGSEGV, SEGV_MAPERR, p));
}

TEST(MunmapTest, UnmappingTheMiddlePageSplitsTheMappingAndKeepsBothNeighbours) {
  REQUIREMENTS("MMAP.MUNMAP.SPLITS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(3 * PageSize()));
  auto map = ASSERT_NO_ERRNO_AND_VALUE(
      Mapping::Map(nullptr, 3 * PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), 0));
  for (int i = 0; i < 3; ++i) std::memset(map.bytes() + i * PageSize(), 'a' + i, PageSize());
  char* middle = map.bytes() + PageSize();
  ASSERT_THAT(munmap(middle, PageSize()), SyscallSucceeds());
  volatile char* hole = middle + PageSize() / 2;
  EXPECT_THAT(RunInChild([hole] { (void)*hole; }), FaultedWith(SIGSEGV, SEGV_MAPERR, hole));
  EXPECT_EQ(map.bytes()[PageSize() - 1], 'a');
  EXPECT_EQ(map.bytes()[2 * PageSize()], 'c');
  map.bytes()[2 * PageSize()] = 'C';  // still the file's third page
  EXPECT_EQ(PreadString(file.fd(), 1, 2 * PageSize()), "C");
  const auto before = FindMapsEntry(map.bytes());
  const auto after = FindMapsEntry(map.bytes() + 2 * PageSize());
  ASSERT_TRUE(before && after);
  EXPECT_EQ(before->end, reinterpret_cast<uintptr_t>(middle));
  EXPECT_EQ(after->start, reinterpret_cast<uintptr_t>(middle + PageSize()));
}

TEST(MunmapTest, LengthIsRoundedUpToWholePages) {
  REQUIREMENTS("MMAP.MUNMAP.LENGTH_ROUNDED_UP");
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  map.bytes()[PageSize()] = 'k';
  ASSERT_THAT(munmap(map.get(), 1), SyscallSucceeds());
  volatile char* last = map.bytes() + PageSize() - 1;
  EXPECT_THAT(RunInChild([last] { (void)*last; }), FaultedWith(SIGSEGV, SEGV_MAPERR, last));
  EXPECT_EQ(map.bytes()[PageSize()], 'k');  // the next page stays
  munmap(map.bytes() + PageSize(), PageSize());
  map.release();
}

TEST(MunmapTest, UnmappingARangeWithNothingMappedSucceeds) {
  REQUIREMENTS("MMAP.MUNMAP.NOTHING_MAPPED");
  void* hole = FindUnmappedRange(4 * PageSize(), PageSize());
  ASSERT_NE(hole, nullptr);
  EXPECT_THAT(munmap(hole, 4 * PageSize()), SyscallSucceeds());
}

struct MunmapErrorCase {
  const char* what;
  size_t addr_offset;  // bytes added to a page-aligned mapped address
  size_t length;       // 0, or SIZE_MAX for "beyond the address space", else pages
  int expected_errno;
};
void PrintTo(const MunmapErrorCase& c, std::ostream* os) { *os << c.what; }

class MunmapErrorTest : public ::testing::TestWithParam<MunmapErrorCase> {};

TEST_P(MunmapErrorTest, FailsWithEINVALAndUnmapsNothing) {
  REQUIREMENTS("MMAP.MUNMAP.ERRORS");
  const MunmapErrorCase& c = GetParam();
  auto map = ASSERT_NO_ERRNO_AND_VALUE(Mapping::Anonymous(2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE));
  map.bytes()[0] = map.bytes()[PageSize()] = 'x';
  const size_t length = c.length == SIZE_MAX ? SIZE_MAX - PageSize() + 1 : c.length * PageSize();
  EXPECT_THAT(munmap(map.bytes() + c.addr_offset, length), SyscallFailsWithErrno(c.expected_errno));
  EXPECT_TRUE(IsMapped(map.bytes()) && IsMapped(map.bytes() + PageSize()));
  EXPECT_EQ(map.bytes()[0] + map.bytes()[PageSize()], 'x' + 'x');
}

INSTANTIATE_TEST_SUITE_P(Table, MunmapErrorTest,
                         ::testing::Values(MunmapErrorCase{"UnalignedAddress", 1, 1, EINVAL},
                                           MunmapErrorCase{"ZeroLength", 0, 0, EINVAL},
                                           MunmapErrorCase{"RangeBeyondTheAddressSpace", 0, SIZE_MAX, EINVAL}),
                         [](const auto& info) { return std::string(info.param.what); });

TEST(MunmapTest, ExitRemovesEveryMappingAndFileDataStays) {
  REQUIREMENTS("MMAP.MUNMAP.EXIT_UNMAPS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  const int fd = file.fd();
  AsyncChild child = AsyncChild::Start([fd] {
    char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    CHILD_CHECK(p != MAP_FAILED);
    std::memcpy(p, "stays", 5);
    _exit(0);
  });
  // Wait for the exit but leave the child a zombie, so its /proc entry remains.
  siginfo_t info{};
  ASSERT_THAT(waitid(P_PID, child.pid(), &info, WEXITED | WNOWAIT), SyscallSucceeds());
  const auto maps = ReadFile("/proc/" + std::to_string(child.pid()) + "/maps");
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
  EXPECT_EQ(maps.value_or(""), "") << "an exited process still has mappings";  // no /proc: nothing to see
  EXPECT_EQ(ReadThroughNewFd(file.path(), 5), "stays");
}

// Maps the file shared, stores, and execs ReportAfterExecMapping with the
// mapping's address; the exec'ed image reports whether it is still mapped.
SHMCONFORM_SCENARIO(MapStoreThenExec) {
  const int fd = open(args.at(0).c_str(), O_RDWR);
  char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (fd < 0 || p == MAP_FAILED) return 10;
  std::memcpy(p, "stored before exec", 19);
  const std::string flag = "--shmconform_scenario=ReportAfterExecMapping";
  const std::string addr = std::to_string(reinterpret_cast<uintptr_t>(p));
  char* argv[] = {const_cast<char*>(SelfExecutable().c_str()), const_cast<char*>(flag.c_str()),
                  const_cast<char*>(addr.c_str()), const_cast<char*>(args.at(0).c_str()), nullptr};
  execv(argv[0], argv);
  return 11;
}

SHMCONFORM_SCENARIO(ReportAfterExecMapping) {
  void* old = reinterpret_cast<void*>(std::stoull(args.at(0)));
  const bool mapped = msync(old, PageSize(), MS_ASYNC) == 0 || errno != ENOMEM;
  std::printf("%s; file: %s", mapped ? "still mapped" : "unmapped", ReadThroughNewFd(args.at(1), 18).c_str());
  return 0;
}

TEST(MunmapTest, ExecRemovesEveryMappingAndFileDataStays) {
  REQUIREMENTS("MMAP.MUNMAP.EXEC_UNMAPS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create(PageSize()));
  ASSERT_EXEC_SCENARIO(r, "MapStoreThenExec", {file.path()});
  EXPECT_THAT(r.outcome, ExitedWithCode(0));
  EXPECT_EQ(r.output, "unmapped; file: stored before exec");
}

}  // namespace
}  // namespace shmconform
