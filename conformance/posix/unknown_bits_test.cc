// Bits POSIX shm and memfd do not know, and the memfd bits newer kernels
// added (a kernel that claims the release but rejects them fails).
//
// What Linux does (mm/memfd.c memfd_create and memfd_add_seals, fs/open.c
// build_open_how; memfd_create(2), fcntl(2), open(2)):
//   memfd_create flags  EINVAL for any bit outside MFD_CLOEXEC,
//                       MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL and
//                       MFD_EXEC (the last two 6.3+; the huge page size
//                       field only with MFD_HUGETLB)
//   F_ADD_SEALS         EINVAL for any bit outside the known seals
//                       (F_SEAL_FUTURE_WRITE 5.1+, F_SEAL_EXEC 6.3+)
//   shm_open oflag      glibc passes oflag to open(2), which drops bits it
//                       does not know: ignored (POSIX leaves other flags
//                       unspecified)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memfd_probe.h"
#include "posix_shm.h"
#include "shmconform/kernel_version.h"
#include "shmconform/raw_syscalls.h"
#include "shmconform/shmconform.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  // Linux 6.3; older C libraries lack the names
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace shmconform {
namespace {

std::string Hex(unsigned long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#lx", v);
  return buf;
}

class MemfdUnknownBitsTest : public ::testing::TestWithParam<CallVariant> {
 protected:
  void SetUp() override { RecordProperty("variant", VariantName(GetParam())); }
  int MemfdCreate(const char* name, unsigned flags) const {
    return GetParam() == CallVariant::kRaw ? raw::MemfdCreate(name, flags) : memfd_create(name, flags);
  }
};

TEST_P(MemfdUnknownBitsTest, MemfdCreateRejectsEveryUnknownFlagBitWithEINVAL) {
  REQUIREMENTS("MEMFD.CREATE.UNKNOWN_FLAGS_EINVAL");
  SKIP_UNLESS_MEMFD();
  for (int b = 5; b <= 31; ++b) {
    const unsigned bit = 1u << b;
    const int fd = MemfdCreate("shmconform.unknown", MFD_CLOEXEC | bit);
    if (fd >= 0) close(fd);
    EXPECT_THAT(fd, SyscallFailsWithErrno(EINVAL)) << Hex(bit);
  }
}

INSTANTIATE_TEST_SUITE_P(Variant, MemfdUnknownBitsTest, ::testing::Values(CallVariant::kLibc, CallVariant::kRaw),
                         VariantParamName<::testing::TestParamInfo<CallVariant>>);

TEST(MemfdSealBitsTest, AddSealsRejectsEveryUnknownSealBitWithEINVAL) {
  REQUIREMENTS("MEMFD.SEAL.UNKNOWN_SEALS_EINVAL");
  SKIP_UNLESS_MEMFD();
  const int fd = memfd_create("shmconform.seals", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_THAT(fd, SyscallSucceeds());
  UniqueFd owner(fd);
  for (int b = 6; b <= 31; ++b) {
    const unsigned bit = 1u << b;
    EXPECT_THAT(fcntl(fd, F_ADD_SEALS, bit | F_SEAL_SHRINK), SyscallFailsWithErrno(EINVAL)) << Hex(bit);
  }
  EXPECT_THAT(fcntl(fd, F_GET_SEALS), SyscallSucceedsWithValue(0));  // not even the known bit was added
}

TEST(MemfdSealBitsTest, NoexecSealMakesANonExecutableFileSealedAgainstExec) {
  REQUIREMENTS("MEMFD.CREATE.NOEXEC_SEAL");
  SKIP_UNLESS_MEMFD();
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kMfdNoexecSeal);
  const int fd = memfd_create("shmconform.noexec", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL) FEATURE_MISSING(linux_feature::kMfdNoexecSeal, "memfd_create fails with EINVAL");
  ASSERT_THAT(fd, SyscallSucceeds());
  UniqueFd owner(fd);
  struct stat st {};
  ASSERT_THAT(fstat(fd, &st), SyscallSucceeds());
  EXPECT_EQ(st.st_mode & 0111, 0u) << "mode " << std::oct << (st.st_mode & 07777);
  const int seals = fcntl(fd, F_GET_SEALS);
  ASSERT_THAT(seals, SyscallSucceeds());
  EXPECT_NE(seals & F_SEAL_EXEC, 0) << "seals " << Hex(static_cast<unsigned>(seals));
  EXPECT_THAT(fchmod(fd, 0755), SyscallFailsWithErrno(EPERM));
  const int both = memfd_create("shmconform.both", MFD_CLOEXEC | MFD_NOEXEC_SEAL | MFD_EXEC);
  if (both >= 0) close(both);
  EXPECT_THAT(both, SyscallFailsWithErrno(EINVAL)) << "MFD_NOEXEC_SEAL and MFD_EXEC together";
}

TEST(MemfdSealBitsTest, SealExecForbidsChangingTheExecuteBits) {
  REQUIREMENTS("MEMFD.SEAL.EXEC");
  SKIP_UNLESS_MEMFD();
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kSealExec);
  const int fd = memfd_create("shmconform.sealexec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_THAT(fd, SyscallSucceeds());
  UniqueFd owner(fd);
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC) != 0 && errno == EINVAL)
    FEATURE_MISSING(linux_feature::kSealExec, "F_ADD_SEALS fails with EINVAL");
  // On a file with execute bits (a memfd starts 0777) F_SEAL_EXEC also adds
  // the write seals: an executable memfd becomes immutable.
  EXPECT_THAT(fcntl(fd, F_GET_SEALS),
              SyscallSucceedsWithValue(F_SEAL_EXEC | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
  EXPECT_THAT(write(fd, "x", 1), SyscallFailsWithErrno(EPERM));
  // A memfd starts with mode 0777: any change of an execute bit is refused.
  EXPECT_THAT(fchmod(fd, 0666), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fchmod(fd, 0744), SyscallFailsWithErrno(EPERM));
}

// Bits 23-30 are beyond every open flag of the architectures we build for
// (__O_TMPFILE is bit 22).
TEST(ShmOpenUnknownBitsTest, ShmOpenIgnoresUnknownFlagBits) {
  REQUIREMENTS("PSHM.OPEN.UNKNOWN_FLAGS_IGNORED");
  SKIP_UNLESS_POSIX_SHM();
  for (int b = 23; b <= 30; ++b) {
    const int bit = 1 << b;
    const std::string name = UniqueShmName("unknown");
    auto shm = PosixShm::Open(name, O_RDWR | O_CREAT | O_EXCL | bit, 0600);
    ASSERT_TRUE(shm.ok()) << Hex(static_cast<unsigned>(bit)) << ": " << shm.Describe();
    const int fd = shm.value().fd();
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR) << Hex(static_cast<unsigned>(bit));
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << Hex(static_cast<unsigned>(bit));
    EXPECT_THAT(pwrite(fd, "x", 1, 0), SyscallSucceedsWithValue(1)) << Hex(static_cast<unsigned>(bit));
  }
}

}  // namespace
}  // namespace shmconform
