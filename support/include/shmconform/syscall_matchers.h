// gmock matchers for a system call's result and errno:
//   EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
//   EXPECT_THAT(shmat(id, nullptr, 0), SyscallSucceeds());
// Integral results fail with -1, pointer results with (void*)-1 (MAP_FAILED,
// shmat's failure value). errno is read when the matcher runs, which gtest
// does right after evaluating the call: put nothing in between.
#pragma once

#include <cerrno>
#include <cstdint>
#include <ostream>
#include <type_traits>

#include <gmock/gmock.h>

#include "shmconform/errno_names.h"

namespace shmconform {
namespace internal {

template <typename T>
bool IsFailureValue(T value) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<std::intptr_t>(value) == -1;
  } else {
    return value == static_cast<T>(-1);
  }
}

// The listener's stream is null when gtest only asks whether it matches.
template <typename T>
void PrintValue(::testing::MatchResultListener* listener, T value) {
  if constexpr (std::is_pointer_v<T>) {
    *listener << static_cast<const void*>(value);
  } else {
    *listener << value;
  }
}

class SyscallSucceedsImpl {
 public:
  template <typename T>
  bool MatchAndExplain(T value, ::testing::MatchResultListener* listener) const {
    const int err = errno;
    if (IsFailureValue(value)) {
      *listener << "failed with " << DescribeErrno(err);
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const { *os << "succeeds"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "fails"; }
};

template <typename ValueMatcher>
class SyscallSucceedsWithValueImpl {
 public:
  explicit SyscallSucceedsWithValueImpl(ValueMatcher m) : matcher_(std::move(m)) {}
  template <typename T>
  bool MatchAndExplain(T value, ::testing::MatchResultListener* listener) const {
    const int err = errno;
    if (IsFailureValue(value)) {
      *listener << "failed with " << DescribeErrno(err);
      return false;
    }
    const ::testing::Matcher<T> m = ::testing::SafeMatcherCast<T>(matcher_);
    if (!m.Matches(value)) {
      *listener << "succeeded with value ";
      PrintValue(listener, value);
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const { *os << "succeeds with the expected value"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "does not succeed with that value"; }

 private:
  ValueMatcher matcher_;
};

class SyscallFailsWithErrnoImpl {
 public:
  explicit SyscallFailsWithErrnoImpl(int expected) : expected_(expected) {}
  template <typename T>
  bool MatchAndExplain(T value, ::testing::MatchResultListener* listener) const {
    const int err = errno;
    if (!IsFailureValue(value)) {
      *listener << "succeeded with value ";
      PrintValue(listener, value);
      return false;
    }
    if (err != expected_) {
      *listener << "failed with " << DescribeErrno(err);
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const { *os << "fails with " << DescribeErrno(expected_); }
  void DescribeNegationTo(std::ostream* os) const { *os << "does not fail with " << ErrnoName(expected_); }

 private:
  int expected_;
};

// For table rows whose expected_errno 0 means "succeeds": one matcher
// instead of an if/else at every use.
template <typename ValueMatcher>
class SyscallSucceedsWithValueOrFailsWithErrnoImpl {
 public:
  SyscallSucceedsWithValueOrFailsWithErrnoImpl(ValueMatcher m, int expected)
      : matcher_(std::move(m)), expected_(expected) {}
  template <typename T>
  bool MatchAndExplain(T value, ::testing::MatchResultListener* listener) const {
    if (expected_ != 0) return SyscallFailsWithErrnoImpl(expected_).MatchAndExplain(value, listener);
    return SyscallSucceedsWithValueImpl<ValueMatcher>(matcher_).MatchAndExplain(value, listener);
  }
  void DescribeTo(std::ostream* os) const {
    if (expected_ != 0) {
      SyscallFailsWithErrnoImpl(expected_).DescribeTo(os);
    } else {
      SyscallSucceedsWithValueImpl<ValueMatcher>(matcher_).DescribeTo(os);
    }
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "not (";
    DescribeTo(os);
    *os << ")";
  }

 private:
  ValueMatcher matcher_;
  int expected_;
};

}  // namespace internal

inline ::testing::PolymorphicMatcher<internal::SyscallSucceedsImpl> SyscallSucceeds() {
  return ::testing::MakePolymorphicMatcher(internal::SyscallSucceedsImpl());
}

template <typename ValueMatcher>
::testing::PolymorphicMatcher<internal::SyscallSucceedsWithValueImpl<ValueMatcher>> SyscallSucceedsWithValue(
    ValueMatcher m) {
  return ::testing::MakePolymorphicMatcher(internal::SyscallSucceedsWithValueImpl<ValueMatcher>(std::move(m)));
}

inline ::testing::PolymorphicMatcher<internal::SyscallFailsWithErrnoImpl> SyscallFailsWithErrno(int err) {
  return ::testing::MakePolymorphicMatcher(internal::SyscallFailsWithErrnoImpl(err));
}

// expected_errno 0: the call succeeds (with a value `m` matches); otherwise it
// fails with exactly that errno.
template <typename ValueMatcher>
::testing::PolymorphicMatcher<internal::SyscallSucceedsWithValueOrFailsWithErrnoImpl<ValueMatcher>>
SyscallSucceedsWithValueOrFailsWithErrno(ValueMatcher m, int expected_errno) {
  return ::testing::MakePolymorphicMatcher(
      internal::SyscallSucceedsWithValueOrFailsWithErrnoImpl<ValueMatcher>(std::move(m), expected_errno));
}

inline auto SyscallSucceedsOrFailsWithErrno(int expected_errno) {
  return SyscallSucceedsWithValueOrFailsWithErrno(::testing::_, expected_errno);
}

}  // namespace shmconform
