#include <errno.h>
#include <sys/mman.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/syscall_matchers.h"

namespace shmconform {
namespace {

using ::testing::Not;

int FailWith(int err) {
  errno = err;
  return -1;
}

void* FailPointerWith(int err) {
  errno = err;
  return MAP_FAILED;
}

template <typename M, typename T>
std::string Explain(const M& matcher, T value) {
  ::testing::StringMatchResultListener listener;
  ::testing::Matcher<T>(matcher).MatchAndExplain(value, &listener);
  return listener.str();
}

TEST(SyscallMatchersTest, SucceedsAcceptsNonFailureValues) {
  EXPECT_THAT(0, SyscallSucceeds());
  EXPECT_THAT(42, SyscallSucceeds());
  EXPECT_THAT(FailWith(EINVAL), Not(SyscallSucceeds()));
}

TEST(SyscallMatchersTest, PointerFailureIsMinusOneNotNull) {
  int object = 0;
  EXPECT_THAT(static_cast<void*>(&object), SyscallSucceeds());
  EXPECT_THAT(static_cast<void*>(nullptr), SyscallSucceeds());
  EXPECT_THAT(FailPointerWith(ENOMEM), SyscallFailsWithErrno(ENOMEM));
}

TEST(SyscallMatchersTest, FailsWithErrnoNeedsTheExactErrno) {
  EXPECT_THAT(FailWith(EEXIST), SyscallFailsWithErrno(EEXIST));
  EXPECT_THAT(FailWith(ENOENT), Not(SyscallFailsWithErrno(EEXIST)));
  EXPECT_THAT(3, Not(SyscallFailsWithErrno(EEXIST)));
}

TEST(SyscallMatchersTest, ExplanationsNameTheErrno) {
  errno = EACCES;
  EXPECT_THAT(Explain(SyscallFailsWithErrno(EEXIST), -1), ::testing::HasSubstr("EACCES"));
  EXPECT_THAT(Explain(SyscallFailsWithErrno(EEXIST), 7), ::testing::HasSubstr("succeeded with value 7"));
  errno = EPERM;
  EXPECT_THAT(Explain(SyscallSucceeds(), -1), ::testing::HasSubstr("EPERM"));
}

TEST(SyscallMatchersTest, SucceedsWithValueChecksTheValue) {
  EXPECT_THAT(5, SyscallSucceedsWithValue(5));
  EXPECT_THAT(5, Not(SyscallSucceedsWithValue(6)));
  EXPECT_THAT(FailWith(EINVAL), Not(SyscallSucceedsWithValue(-1)));
  EXPECT_THAT(9, SyscallSucceedsWithValue(::testing::Gt(8)));
}

TEST(SyscallMatchersTest, TableRowMatcherSucceedsForZeroAndFailsWithAnyOtherErrno) {
  EXPECT_THAT(5, SyscallSucceedsOrFailsWithErrno(0));
  EXPECT_THAT(FailWith(EINVAL), Not(SyscallSucceedsOrFailsWithErrno(0)));
  EXPECT_THAT(FailWith(EACCES), SyscallSucceedsOrFailsWithErrno(EACCES));
  EXPECT_THAT(FailWith(EINVAL), Not(SyscallSucceedsOrFailsWithErrno(EACCES)));
  EXPECT_THAT(5, Not(SyscallSucceedsOrFailsWithErrno(EACCES)));
  EXPECT_THAT(5, SyscallSucceedsWithValueOrFailsWithErrno(5, 0));
  EXPECT_THAT(5, Not(SyscallSucceedsWithValueOrFailsWithErrno(6, 0)));
  EXPECT_THAT(FailWith(ENOENT), SyscallSucceedsWithValueOrFailsWithErrno(6, ENOENT));
  errno = EINVAL;
  EXPECT_THAT(Explain(SyscallSucceedsOrFailsWithErrno(EACCES), -1), ::testing::HasSubstr("EINVAL"));
}

}  // namespace
}  // namespace shmconform
