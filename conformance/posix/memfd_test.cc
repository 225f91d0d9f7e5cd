// memfd_create(2) and file sealing (fcntl(2) F_ADD_SEALS / F_GET_SEALS):
// anonymous shared memory passed by descriptor.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memfd_probe.h"
#include "shmconform/kernel_version.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

SysResult<UniqueFd> Memfd(unsigned flags, off_t size = 0) {
  const int fd = memfd_create("shmconform", flags);
  if (fd < 0) return SysResult<UniqueFd>::Error(errno, "memfd_create");
  UniqueFd owner(fd);
  if (ftruncate(fd, size) != 0) return SysResult<UniqueFd>::Error(errno, "ftruncate(memfd)");
  return SysResult<UniqueFd>::Ok(std::move(owner));
}

TEST(MemfdTest, CreatesAnonymousEmptyReadWriteFile) {
  REQUIREMENTS("MEMFD.CREATE.ANONYMOUS");
  SKIP_UNLESS_MEMFD();
  const int fd = memfd_create("shmconform.anon", MFD_CLOEXEC);
  ASSERT_THAT(fd, SyscallSucceeds());
  UniqueFd owner(fd);
  struct stat st {};
  ASSERT_THAT(fstat(fd, &st), SyscallSucceeds());
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_nlink, 0u);  // no name in any directory
  EXPECT_THAT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  char link[256] = {};
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_THAT(readlink(proc.c_str(), link, sizeof link - 1), SyscallSucceeds());
  EXPECT_STREQ(link, "/memfd:shmconform.anon (deleted)");
}

TEST(MemfdTest, CloexecFlagSetsCloseOnExec) {
  REQUIREMENTS("MEMFD.CREATE.CLOEXEC");
  SKIP_UNLESS_MEMFD();
  auto with = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC));
  auto without = ASSERT_NO_ERRNO_AND_VALUE(Memfd(0));
  EXPECT_THAT(fcntl(with.get(), F_GETFD), SyscallSucceedsWithValue(FD_CLOEXEC));
  EXPECT_THAT(fcntl(without.get(), F_GETFD), SyscallSucceedsWithValue(0));
}

TEST(MemfdTest, MemoryIsSharedWithForkedChild) {
  REQUIREMENTS("MEMFD.SHARE.FORK");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC, PageSize()));
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0));
  std::strcpy(m.bytes(), "from parent");
  const int raw = fd.get();
  EXPECT_THAT(RunInChild([raw] {
                char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, raw, 0));
                CHILD_CHECK(p != MAP_FAILED);
                CHILD_CHECK(std::strcmp(p, "from parent") == 0);
                std::strcpy(p, "from child");
              }),
              ExitedWithCode(0));
  EXPECT_STREQ(m.bytes(), "from child");
}

// Receives a descriptor over the socket numbered args[0], maps it, reports
// what it read and answers in the memory.
SHMCONFORM_SCENARIO(MemfdReceiveAndReply) {
  const int sock = std::stoi(args.at(0));
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(sock, &msg, 0) != 1) return 10;
  const cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return 11;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  char* p = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (p == MAP_FAILED) return 12;
  std::printf("read=%s", p);
  std::strcpy(p, "reply from receiver");
  return 0;
}

TEST(MemfdTest, MemoryIsSharedWithProcessReceivingTheDescriptor) {
  REQUIREMENTS("MEMFD.SHARE.FD_PASSING");
  SKIP_UNLESS_MEMFD();
  // MFD_CLOEXEC: the exec'ed receiver gets the memory only through the socket.
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC, PageSize()));
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0));
  std::strcpy(m.bytes(), "from sender");
  int sv[2];
  ASSERT_THAT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), SyscallSucceeds());
  UniqueFd ours(sv[0]), theirs(sv[1]);

  char byte = 'm';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int raw = fd.get();
  std::memcpy(CMSG_DATA(c), &raw, sizeof raw);
  // Queued in the socket until the receiver reads it.
  ASSERT_THAT(sendmsg(ours.get(), &msg, 0), SyscallSucceedsWithValue(1));

  auto result = RunScenarioInExecKeepingFd("MemfdReceiveAndReply", {std::to_string(theirs.get())}, theirs.get());
  if (!result.ok() && result.error() == ENOEXEC) GTEST_SKIP() << "cannot re-exec the test binary here (ENOEXEC)";
  ASSERT_TRUE(result.ok()) << result.Describe();
  EXPECT_THAT(result.value().outcome, ExitedWithCode(0));
  EXPECT_EQ(result.value().output, "read=from sender");
  EXPECT_STREQ(m.bytes(), "reply from receiver");
}

TEST(MemfdSealTest, WithoutAllowSealingNoSealCanBeAdded) {
  REQUIREMENTS("MEMFD.SEAL.NOT_ALLOWED");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SEAL));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EPERM));
  // With it, a new memfd starts with no seals.
  auto sealable = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_THAT(fcntl(sealable.get(), F_GET_SEALS), SyscallSucceedsWithValue(0));
}

TEST(MemfdSealTest, SealShrinkRefusesShrinkingButAllowsGrowing) {
  REQUIREMENTS("MEMFD.SEAL.SHRINK");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING, 2 * PageSize()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_SHRINK));
  EXPECT_THAT(ftruncate(fd.get(), PageSize()), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(ftruncate(fd.get(), 3 * PageSize()), SyscallSucceeds());
}

TEST(MemfdSealTest, SealGrowRefusesGrowingButAllowsShrinking) {
  REQUIREMENTS("MEMFD.SEAL.GROW");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING, 2 * PageSize()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW), SyscallSucceeds());
  EXPECT_THAT(ftruncate(fd.get(), 3 * PageSize()), SyscallFailsWithErrno(EPERM));
  // A write past the end would grow the file too.
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 2 * PageSize()), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 2 * PageSize() - 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(ftruncate(fd.get(), PageSize()), SyscallSucceeds());
}

TEST(MemfdSealTest, SealWriteIsRefusedWhileAWritableSharedMappingExists) {
  REQUIREMENTS("MEMFD.SEAL.WRITE_BUSY");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING, PageSize()));
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EBUSY));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(0));
  m.reset();
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
}

TEST(MemfdSealTest, SealWriteRefusesWritesAndWritableSharedMappings) {
  REQUIREMENTS("MEMFD.SEAL.WRITE");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING, PageSize()));
  ASSERT_THAT(pwrite(fd.get(), "before", 6, 0), SyscallSucceedsWithValue(6));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallSucceeds());
  EXPECT_THAT(pwrite(fd.get(), "after", 5, 0), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0), SyscallFailsWithErrno(EPERM));
  // Reading, and a private copy, stay allowed; the contents are unchanged.
  auto priv =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0));
  priv.bytes()[0] = 'X';
  char data[7] = {};
  EXPECT_THAT(pread(fd.get(), data, 6, 0), SyscallSucceedsWithValue(6));
  EXPECT_STREQ(data, "before");
}

TEST(MemfdSealTest, FutureWriteKeepsExistingMappingsButRefusesNewWriters) {
  REQUIREMENTS("MEMFD.SEAL.FUTURE_WRITE");
  SKIP_UNLESS_MEMFD();
  SKIP_UNLESS_KERNEL_HAS(linux_feature::kSealFutureWrite);
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING, PageSize()));
  auto m =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0));
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE) != 0) {
    ASSERT_EQ(errno, EINVAL) << DescribeErrno(errno);
    FEATURE_MISSING(linux_feature::kSealFutureWrite, "F_ADD_SEALS fails with EINVAL");
  }
  // Unlike F_SEAL_WRITE, the existing writable mapping was no obstacle and still writes.
  std::strcpy(m.bytes(), "old mapping");
  char data[12] = {};
  EXPECT_THAT(pread(fd.get(), data, 11, 0), SyscallSucceedsWithValue(11));
  EXPECT_STREQ(data, "old mapping");
  EXPECT_THAT(pwrite(fd.get(), "x", 1, 0), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0), SyscallFailsWithErrno(EPERM));
  EXPECT_TRUE(Mapping::Map(nullptr, PageSize(), PROT_READ, MAP_SHARED, fd.get(), 0).ok());
}

TEST(MemfdSealTest, SealSealRefusesFurtherSeals) {
  REQUIREMENTS("MEMFD.SEAL.SEAL");
  SKIP_UNLESS_MEMFD();
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Memfd(MFD_CLOEXEC | MFD_ALLOW_SEALING, PageSize()));
  ASSERT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL), SyscallSucceeds());
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(fcntl(fd.get(), F_GET_SEALS), SyscallSucceedsWithValue(F_SEAL_GROW | F_SEAL_SEAL));
  EXPECT_THAT(ftruncate(fd.get(), PageSize()), SyscallSucceeds());  // shrinking was never sealed
}

}  // namespace
}  // namespace shmconform
