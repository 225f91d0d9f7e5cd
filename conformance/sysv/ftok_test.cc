// ftok(3): System V keys from a file's identity and a project id.
#include <fcntl.h>
#include <sys/ipc.h>
#include <unistd.h>

#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(FtokTest, SamePathAndIdGiveTheSameKeyInEveryProcess) {
  REQUIREMENTS("SYSV.FTOK.STABLE");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create());
  const key_t key = ftok(file.path().c_str(), 'k');
  ASSERT_THAT(key, SyscallSucceeds());
  EXPECT_NE(key, IPC_PRIVATE);
  EXPECT_EQ(ftok(file.path().c_str(), 'k'), key);
  const char* path = file.path().c_str();
  EXPECT_THAT(RunInChild([path, key] { CHILD_CHECK(ftok(path, 'k') == key); }), ExitedWithCode(0));
}

TEST(FtokTest, EveryPathToTheSameFileGivesTheSameKey) {
  REQUIREMENTS("SYSV.FTOK.SAME_FILE");
  auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
  const std::string original = dir.path() + "/original", link_path = dir.path() + "/link";
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Open(original, O_CREAT | O_WRONLY, 0600));
  ASSERT_THAT(link(original.c_str(), link_path.c_str()), SyscallSucceeds());
  const std::string dotted = dir.path() + "/./original";
  EXPECT_EQ(ftok(link_path.c_str(), 7), ftok(original.c_str(), 7));
  EXPECT_EQ(ftok(dotted.c_str(), 7), ftok(original.c_str(), 7));
}

TEST(FtokTest, ProjectIdsDifferingInTheirLowByteGiveDifferentKeys) {
  REQUIREMENTS("SYSV.FTOK.ID_DISTINGUISHES");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create());
  std::set<key_t> keys;
  const int ids[] = {1, 2, 'A', 'B', 0x7f, 0x80, 0xff};
  for (int id : ids) keys.insert(ftok(file.path().c_str(), id));
  EXPECT_EQ(keys.size(), std::size(ids));
  EXPECT_EQ(keys.count(-1), 0u);
}

TEST(FtokTest, OnlyTheLowEightBitsOfTheProjectIdCount) {
  REQUIREMENTS("SYSV.FTOK.LOW_8_BITS");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(TempFile::Create());
  const char* path = file.path().c_str();
  const key_t key = ftok(path, 0x41);
  ASSERT_THAT(key, SyscallSucceeds());
  EXPECT_EQ(ftok(path, 0x141), key);
  EXPECT_EQ(ftok(path, 0x7f41), key);
  EXPECT_EQ(ftok(path, 0x12345641), key);
}

TEST(FtokTest, MissingPathFailsLikeStatWithENOENT) {
  REQUIREMENTS("SYSV.FTOK.NOENT");
  auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
  const std::string missing = dir.path() + "/missing";
  EXPECT_THAT(ftok(missing.c_str(), 1), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(ftok((missing + "/below").c_str(), 1), SyscallFailsWithErrno(ENOENT));
}

}  // namespace
}  // namespace shmconform
