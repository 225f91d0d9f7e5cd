#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/exec_scenario.h"
#include "shmconform/owners.h"
#include "shmconform/unique_names.h"

namespace shmconform {
namespace {

SHMCONFORM_SCENARIO(EchoArgs) {
  for (const auto& a : args) std::printf("%s;", a.c_str());
  return static_cast<int>(args.size());
}

SHMCONFORM_SCENARIO(CheckPid) {
  // args[0] is the parent test's pid: an exec'd child is a different process
  // whose parent is the test.
  return getppid() == std::stoi(args.at(0)) && getpid() != std::stoi(args.at(0)) ? 0 : 1;
}

SHMCONFORM_SCENARIO(Segfault) {
  raise(SIGSEGV);
  return 0;
}

SHMCONFORM_SCENARIO(FdIsOpen) { return fcntl(std::stoi(args.at(0)), F_GETFD) >= 0 ? 0 : 1; }

TEST(ExecScenarioTest, RunsNamedScenarioWithArgsAndCapturesStdout) {
  ASSERT_EXEC_SCENARIO(r, "EchoArgs", {"one", "two words", ""});
  EXPECT_THAT(r.outcome, ExitedWithCode(3));
  EXPECT_EQ(r.output, "one;two words;;");
}

TEST(ExecScenarioTest, ScenarioRunsInAChildProcess) {
  ASSERT_EXEC_SCENARIO(r, "CheckPid", {std::to_string(getpid())});
  EXPECT_THAT(r.outcome, ExitedWithCode(0));
}

TEST(ExecScenarioTest, SignalInScenarioIsReported) {
  ASSERT_EXEC_SCENARIO(r, "Segfault", {});
  EXPECT_THAT(r.outcome, KilledBySignal(SIGSEGV));
}

TEST(ExecScenarioTest, UnknownScenarioExitsTwo) {
  ASSERT_EXEC_SCENARIO(r, "NoSuchScenario", {});
  EXPECT_THAT(r.outcome, ExitedWithCode(2));
}

TEST(ExecScenarioTest, CloseOnExecFdsAreClosedUnlessKept) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  const std::string fd = std::to_string(fds[0]);
  ASSERT_EXEC_SCENARIO(closed, "FdIsOpen", {fd});
  EXPECT_THAT(closed.outcome, ExitedWithCode(1));
  auto kept = RunScenarioInExecKeepingFd("FdIsOpen", {fd}, fds[0]);
  ASSERT_TRUE(kept.ok()) << kept.Describe();
  EXPECT_THAT(kept.value().outcome, ExitedWithCode(0));
  EXPECT_EQ(fcntl(fds[0], F_GETFD), FD_CLOEXEC);  // the parent's flag is untouched
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace shmconform

namespace shmconform {
namespace {

SHMCONFORM_SCENARIO(UseScratchDir) {
  auto dir = RunScratchDir();
  return dir.ok() && dir.value() == args.at(0) ? 0 : 1;
}

// The harness gives every process of a run one run id, so an exec'ed
// scenario finds the test's scratch directory already there: it must not
// remove it on exit while the test still uses it.
TEST(ExecScenarioTest, ExecedScenarioLeavesTheSharedScratchDirectory) {
  auto dir = RunScratchDir();
  ASSERT_TRUE(dir.ok()) << dir.Describe();
  const std::string path = dir.value();
  ASSERT_EQ(setenv("SHMCONFORM_RUN_ID", RunId().c_str(), 1), 0);
  ASSERT_EXEC_SCENARIO(r, "UseScratchDir", {path});
  unsetenv("SHMCONFORM_RUN_ID");
  EXPECT_THAT(r.outcome, ExitedWithCode(0));
  EXPECT_EQ(access(path.c_str(), F_OK), 0) << path << " was removed by the exec'ed scenario";
  auto file = TempFile::Create(1);
  EXPECT_TRUE(file.ok()) << file.Describe();
}

}  // namespace
}  // namespace shmconform
