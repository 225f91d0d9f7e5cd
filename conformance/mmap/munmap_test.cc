// munmap(2): removing mappings.
#include <signal.h>
#include <sys/mman.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace shmconform
