// SysResult<T>: a value or the errno of the call that failed to produce it.
// Factories in the support library return it; tests unwrap it with
// ASSERT_NO_ERRNO_AND_VALUE, which fails the test with the errno's name.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "shmconform/errno_names.h"

namespace shmconform {

template <typename T>
class [[nodiscard]] SysResult {
 public:
  static SysResult Ok(T value) { return SysResult(std::move(value), 0, {}); }
  // `what` names the call that failed, e.g. "shmget(key, 4096, IPC_CREAT|0600)".
  static SysResult Error(int err, std::string what) { return SysResult(std::nullopt, err, std::move(what)); }

  bool ok() const { return value_.has_value(); }
  int error() const { return err_; }
  const std::string& what() const { return what_; }
  T& value() & { return *value_; }
  T&& take() && { return std::move(*value_); }

  std::string Describe() const { return ok() ? std::string("ok") : what_ + " failed: " + DescribeErrno(err_); }

 private:
  SysResult(std::optional<T> value, int err, std::string what)
      : value_(std::move(value)), err_(err), what_(std::move(what)) {}
  std::optional<T> value_;
  int err_;
  std::string what_;
};

}  // namespace shmconform

// Unwraps a SysResult or fails the current test (fatally) with the errno's name.
// A GCC statement expression, so it can be used in an initializer.
#define ASSERT_NO_ERRNO_AND_VALUE(expr)                                    \
  ({                                                                       \
    auto shmconform_result_ = (expr);                                      \
    ASSERT_TRUE(shmconform_result_.ok()) << shmconform_result_.Describe(); \
    std::move(shmconform_result_).take();                                  \
  })

// Fails the current test (fatally) with the errno's name unless a SysResult is ok.
#define ASSERT_NO_ERRNO(expr)                                              \
  do {                                                                     \
    const auto shmconform_result_ = (expr);                                \
    ASSERT_TRUE(shmconform_result_.ok()) << shmconform_result_.Describe(); \
  } while (0)
