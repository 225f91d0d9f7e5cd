// main() of every conformance and support test binary: a re-exec'd scenario
// runs before gtest parses the command line; --shmconform_list prints the
// static test metadata (support/include/shmconform/test_listing.h) and runs
// nothing; otherwise it is a gtest binary, which marks each test's start in
// the kernel log when SHMCONFORM_KMSG asks (shmconform/kernel_log_marker.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>

#include "shmconform/exec_scenario.h"
#include "shmconform/kernel_log_marker.h"
#include "shmconform/test_listing.h"

int main(int argc, char** argv) {
  int scenario_exit = 0;
  if (shmconform::DispatchScenario(argc, argv, &scenario_exit)) return scenario_exit;
  const bool list = shmconform::TakeListFlag(&argc, argv);
  ::testing::InitGoogleMock(&argc, argv);
  if (list) return shmconform::ListTests(argv[0], std::cout);
  if (auto marker = shmconform::KernelLogMarker::FromEnvironment())
    ::testing::UnitTest::GetInstance()->listeners().Append(marker.release());  // gtest owns it
  return RUN_ALL_TESTS();
}
