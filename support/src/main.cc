// main() of every conformance and support test binary: a re-exec'd scenario
// runs before gtest parses the command line; --shmconform_list prints the
// static test metadata (support/include/shmconform/test_listing.h) and runs
// nothing; otherwise it is a gtest binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>

#include "shmconform/exec_scenario.h"
#include "shmconform/test_listing.h"

int main(int argc, char** argv) {
  int scenario_exit = 0;
  if (shmconform::DispatchScenario(argc, argv, &scenario_exit)) return scenario_exit;
  const bool list = shmconform::TakeListFlag(&argc, argv);
  ::testing::InitGoogleMock(&argc, argv);
  if (list) return shmconform::ListTests(argv[0], std::cout);
  return RUN_ALL_TESTS();
}
