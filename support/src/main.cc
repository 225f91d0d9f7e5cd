// main() of every conformance and support test binary: a re-exec'd scenario
// runs before gtest parses the command line; otherwise it is a gtest binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/exec_scenario.h"

int main(int argc, char** argv) {
  int scenario_exit = 0;
  if (shmconform::DispatchScenario(argc, argv, &scenario_exit)) return scenario_exit;
  ::testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}
