// The seed document's two example programs (mmap-write, mmap-read), run as
// separate, unrelated processes: fresh execs of this binary that share
// nothing but the file's path.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mmap_helpers.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

constexpr size_t kFileLength = 0x100;  // the seed's FILE_LENGTH

// mmap-write: makes the file large enough by seeking past the end and
// writing one byte, maps it, closes the fd, stores the integer as text.
SHMCONFORM_SCENARIO(SeedMmapWrite) {
  const int fd = open(args.at(0).c_str(), O_RDWR | O_CREAT, 0600);
  if (fd < 0) return 10;
  if (lseek(fd, kFileLength + 1, SEEK_SET) < 0 || write(fd, "", 1) != 1 || lseek(fd, 0, SEEK_SET) != 0) return 11;
  void* memory = mmap(nullptr, kFileLength, PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) return 12;
  close(fd);
  std::snprintf(static_cast<char*>(memory), kFileLength, "%d\n", std::atoi(args.at(1).c_str()));
  return munmap(memory, kFileLength) == 0 ? 0 : 13;
}

// mmap-read: maps the existing file, prints the integer, stores its double;
// exits without munmap (the seed notes it is unnecessary).
SHMCONFORM_SCENARIO(SeedMmapRead) {
  const int fd = open(args.at(0).c_str(), O_RDWR);
  if (fd < 0) return 20;
  void* memory = mmap(nullptr, kFileLength, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) return 21;
  close(fd);
  int integer = 0;
  if (std::sscanf(static_cast<const char*>(memory), "%d", &integer) != 1) return 22;
  std::printf("value: %d\n", integer);
  std::snprintf(static_cast<char*>(memory), kFileLength, "%d\n", 2 * integer);
  return 0;
}

// Maps the file shared, prints what is there, then stores its own text.
SHMCONFORM_SCENARIO(MapPrintAndStore) {
  const int fd = open(args.at(0).c_str(), O_RDWR);
  if (fd < 0) return 30;
  char* memory = static_cast<char*>(mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (memory == MAP_FAILED) return 31;
  close(fd);
  std::printf("%s", memory);
  std::snprintf(memory, PageSize(), "%s", args.at(1).c_str());
  return 0;
}

class SeedProgramsTest : public ::testing::TestWithParam<int> {};

TEST_P(SeedProgramsTest, ReaderDoublesTheWritersIntegerInTheFile) {
  REQUIREMENTS("MMAP.SEED.WRITE_THEN_READ_DOUBLES", "MMAP.SHARED.DATA_IS_NONVOLATILE");
  auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
  const std::string path = dir.path() + "/integer-file";
  const int value = GetParam();
  ASSERT_EXEC_SCENARIO(writer, "SeedMmapWrite", {path, std::to_string(value)});
  ASSERT_THAT(writer.outcome, ExitedWithCode(0));
  const std::string text = std::to_string(value) + "\n";
  EXPECT_EQ(ReadThroughNewFd(path, text.size() + 1), text + '\0');  // after munmap and exit

  ASSERT_EXEC_SCENARIO(reader, "SeedMmapRead", {path});
  ASSERT_THAT(reader.outcome, ExitedWithCode(0));
  EXPECT_EQ(reader.output, "value: " + std::to_string(value) + "\n");
  // Opened again after both processes exited; read(2), never write(2).
  const std::string doubled = std::to_string(2 * value) + "\n";
  EXPECT_EQ(ReadThroughNewFd(path, doubled.size()), doubled);
  auto fd = ASSERT_NO_ERRNO_AND_VALUE(Open(path, O_RDONLY));
  EXPECT_EQ(FileSize(fd.get()), static_cast<off_t>(kFileLength + 2));  // only the seek-and-write grew it
}

INSTANTIATE_TEST_SUITE_P(Values, SeedProgramsTest, ::testing::Values(42, -100));

TEST(SeedProgramsTest, UnrelatedProcessesShareThroughOneFileBothWays) {
  REQUIREMENTS("MMAP.SHARED.UNRELATED_PROCESSES");
  auto file = ASSERT_NO_ERRNO_AND_VALUE(FileHolding("from the test", PageSize()));
  auto map =
      ASSERT_NO_ERRNO_AND_VALUE(Mapping::Map(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), 0));
  std::snprintf(map.bytes(), PageSize(), "stored by the test");
  ASSERT_EXEC_SCENARIO(r, "MapPrintAndStore", {file.path(), "stored by the exec"});
  ASSERT_THAT(r.outcome, ExitedWithCode(0));
  EXPECT_EQ(r.output, "stored by the test");        // our store reached its mapping
  EXPECT_STREQ(map.bytes(), "stored by the exec");  // and its store reached ours
}

}  // namespace
}  // namespace shmconform
