// Bits System V shared memory does not know, each tried through the C
// library and as a raw system call (parameter and gtest property "variant").
//
// What Linux does (ipc/shm.c: newseg, do_shmat, ksys_shmctl; shmget(2),
// shmat(2), shmctl(2); POSIX shmctl):
//   shmget flags   ignored: only the mode bits, IPC_CREAT, IPC_EXCL,
//                  SHM_HUGETLB, SHM_NORESERVE (and the huge page size field
//                  with SHM_HUGETLB) are read
//   shmat flags    ignored: only SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC
//                  are read
//   shmctl cmd     EINVAL for any command it does not know (POSIX: "cmd is
//                  not a valid command")
#include <sys/ipc.h>
#include <sys/shm.h>

#include <climits>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/raw_syscalls.h"
#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform::sysv {
namespace {

using ::testing::Field;
using ::testing::Optional;

std::string Hex(long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#lx", static_cast<unsigned long>(v));
  return buf;
}

class SysvUnknownBitsTest : public ::testing::TestWithParam<CallVariant> {
 protected:
  void SetUp() override { RecordProperty("variant", VariantName(GetParam())); }
  bool raw() const { return GetParam() == CallVariant::kRaw; }
  int Shmget(key_t key, size_t size, int flags) const {
    return raw() ? raw::Shmget(key, size, flags) : shmget(key, size, flags);
  }
  void* Shmat(int id, int flags) const { return raw() ? raw::Shmat(id, nullptr, flags) : shmat(id, nullptr, flags); }
  // Only the result matters for an unknown command: the buffer is never read.
  int ShmctlCommand(int id, int cmd) const {
    struct shmid64_ds kernel_ds {};
    shmid_ds ds{};
    return raw() ? raw::Shmctl(id, cmd, &kernel_ds) : shmctl(id, cmd, &ds);
  }
};

// Bits 0-8 mode, 9 IPC_CREAT, 10 IPC_EXCL, 11 SHM_HUGETLB, 12 SHM_NORESERVE;
// 26-31 the huge page size, read only with SHM_HUGETLB.
TEST_P(SysvUnknownBitsTest, ShmgetIgnoresUnknownFlagBits) {
  REQUIREMENTS("SYSV.SHMGET.UNKNOWN_FLAGS_IGNORED");
  for (int b = 13; b <= 25; ++b) {
    const int bit = 1 << b;
    const int id = Shmget(IPC_PRIVATE, PageSize(), IPC_CREAT | 0640 | bit);
    ASSERT_THAT(id, SyscallSucceeds()) << Hex(bit);
    SysvSegment seg(id);
    const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
    EXPECT_EQ(ds.shm_perm.mode & 07777, 0640u) << Hex(bit);
    EXPECT_EQ(ds.shm_segsz, PageSize()) << Hex(bit);
  }
}

// Bits 12 SHM_RDONLY, 13 SHM_RND, 14 SHM_REMAP, 15 SHM_EXEC are known.
TEST_P(SysvUnknownBitsTest, ShmatIgnoresUnknownFlagBits) {
  REQUIREMENTS("SYSV.SHMAT.UNKNOWN_FLAGS_IGNORED");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  for (int b = 0; b <= 31; ++b) {
    if (b >= 12 && b <= 15) continue;
    const int bit = static_cast<int>(1u << b);
    void* p = Shmat(seg.id(), bit);
    ASSERT_THAT(p, SyscallSucceeds()) << Hex(bit);
    ShmAttachment att(p);
    EXPECT_THAT(FindMapsEntry(p), Optional(Field(&MapsEntry::perms, "rw-s"))) << Hex(bit);  // not read-only
    std::strcpy(att.as<char>(), "writable");
  }
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
}

// Known: 0-3 (IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO), 11-15 (SHM_LOCK,
// SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY). None of the values tried has
// bit 0x100 (IPC_64), which glibc and the kernel treat specially on some
// architectures.
TEST_P(SysvUnknownBitsTest, ShmctlRejectsUnknownCommandsWithEINVAL) {
  REQUIREMENTS("SYSV.SHMCTL.INVALID_CMD");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const shmid_ds before = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  for (int cmd : {4, 5, 6, 7, 8, 9, 10, 16, 17, 31, 32, 0x7f, 0xff, 0x1000, 0x10000, -1, INT_MIN}) {
    EXPECT_THAT(ShmctlCommand(seg.id(), cmd), SyscallFailsWithErrno(EINVAL)) << "cmd " << cmd;
  }
  const shmid_ds after = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));
  EXPECT_EQ(after.shm_perm.mode, before.shm_perm.mode);
  EXPECT_EQ(after.shm_ctime, before.shm_ctime);
  EXPECT_EQ(after.shm_nattch, 0u);
}

INSTANTIATE_TEST_SUITE_P(Variant, SysvUnknownBitsTest, ::testing::Values(CallVariant::kLibc, CallVariant::kRaw),
                         VariantParamName<::testing::TestParamInfo<CallVariant>>);

}  // namespace
}  // namespace shmconform::sysv
