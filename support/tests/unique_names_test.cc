#include <limits.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <set>
#include <string>

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/owners.h"
#include "shmconform/syscall_matchers.h"
#include "shmconform/unique_names.h"

namespace shmconform {
namespace {

TEST(UniqueNamesTest, KeysAreDistinctMarkedAndUnused) {
  std::set<key_t> keys;
  for (int i = 0; i < 200; ++i) {
    const key_t key = UniqueIpcKey();
    EXPECT_NE(key, IPC_PRIVATE);
    EXPECT_EQ(static_cast<std::uint32_t>(key) >> 24, kKeyMarker) << "no marker in the top byte";
    EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), 200u);
}

TEST(UniqueNamesTest, KeyOfAnExistingSegmentIsNeverHandedOut) {
  // Not a proof by itself, but a key in use must never be returned.
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, 1, IPC_CREAT | 0600));
  for (int i = 0; i < 100; ++i) EXPECT_NE(UniqueIpcKey(), key);
}

TEST(UniqueNamesTest, ShmNamesAreValidAndDistinct) {
  const std::string a = UniqueShmName("a");
  const std::string b = UniqueShmName("a");
  EXPECT_NE(a, b);
  for (const auto& name : {a, b}) {
    EXPECT_EQ(name.front(), '/');
    EXPECT_EQ(name.find('/', 1), std::string::npos);
    EXPECT_LT(name.size(), static_cast<size_t>(NAME_MAX));
    EXPECT_THAT(name, ::testing::HasSubstr(RunId()));
  }
}

TEST(UniqueNamesTest, RunIdIsStable) { EXPECT_EQ(RunId(), RunId()); }

}  // namespace
}  // namespace shmconform
