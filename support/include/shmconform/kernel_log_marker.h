// Marks each test's start in the kernel log ("shmconform: test Suite.Name"),
// so a kernel warning can be tied to the exact test that caused it (the
// harness reads the last marker before the WARN/oops: harness/targets/incidents.py).
//
// Only when asked: SHMCONFORM_KMSG names the kernel log to write (the round
// script sets it to /dev/kmsg on targets that boot their own kernel, UML and
// QEMU); on a host it would flood the host's log. A log that cannot be written
// is silently left alone: marking never fails a test.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace shmconform {

inline constexpr char kKernelLogVariable[] = "SHMCONFORM_KMSG";

class KernelLogMarker : public ::testing::EmptyTestEventListener {
 public:
  explicit KernelLogMarker(std::string path) : path_(std::move(path)) {}
  // The marker SHMCONFORM_KMSG asks for, or null when it is unset or empty.
  static std::unique_ptr<KernelLogMarker> FromEnvironment();

  // Writes "<5>shmconform: test Suite.Name\n" (a notice-level record) to the log.
  void OnTestStart(const ::testing::TestInfo& test) override;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace shmconform
