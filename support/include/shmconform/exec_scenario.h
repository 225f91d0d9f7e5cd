// Runs a named scenario in a fresh exec of the test binary itself: for exec
// semantics (attachments detached by exec) and for unrelated processes that
// share nothing but a key, a name or a path.
//
//   SHMCONFORM_SCENARIO(ReadSegment) {   // args: std::vector<std::string>
//     ... return 0;                      // exit code; stdout goes to the parent
//   }
//   auto r = ASSERT_NO_ERRNO_AND_VALUE(RunScenarioInExec("ReadSegment", {id}));
//   EXPECT_THAT(r.outcome, ExitedWithCode(0));  EXPECT_EQ(r.output, "...");
#pragma once

#include <string>
#include <vector>

#include "shmconform/child.h"
#include "shmconform/result.h"

namespace shmconform {

using ScenarioFn = int (*)(const std::vector<std::string>& args);

struct ScenarioRegistrar {
  ScenarioRegistrar(const char* name, ScenarioFn fn);
};

struct ExecOutcome {
  ChildOutcome outcome;
  std::string output;  // everything the scenario wrote to stdout
};

// Execs this binary with --shmconform_scenario=NAME and the args. Fails with
// the exec's errno when the binary cannot be re-executed (ENOEXEC under
// qemu-user without binfmt_misc, for instance).
SysResult<ExecOutcome> RunScenarioInExec(const std::string& name, const std::vector<std::string>& args);

// Same, but the exec'ed scenario also inherits `keep_fd` (not closed on exec).
SysResult<ExecOutcome> RunScenarioInExecKeepingFd(const std::string& name, const std::vector<std::string>& args,
                                                  int keep_fd);

// Called by main() first: records the binary's own path and, when argv names
// a scenario, runs it and stores its exit code. Returns true if it ran one.
bool DispatchScenario(int argc, char** argv, int* exit_code);
void RecordSelfPath(const char* argv0);
// The test binary's own path, for scenarios that exec it again themselves.
const std::string& SelfExecutable();

}  // namespace shmconform

#define SHMCONFORM_SCENARIO(name)                                                        \
  static int name##_scenario(const std::vector<std::string>& args);                      \
  static const ::shmconform::ScenarioRegistrar name##_registrar(#name, name##_scenario); \
  static int name##_scenario([[maybe_unused]] const std::vector<std::string>& args)

// Unwraps RunScenarioInExec; skips (with the reason) only where the platform
// cannot re-exec a binary at all, fails on any other error.
#define ASSERT_EXEC_SCENARIO(var, name, ...)                                                          \
  auto var##_result_ = ::shmconform::RunScenarioInExec(name, __VA_ARGS__);                            \
  if (!var##_result_.ok() && var##_result_.error() == ENOEXEC)                                        \
    GTEST_SKIP() << "cannot re-exec the test binary here (ENOEXEC: no binfmt for this architecture)"; \
  ASSERT_TRUE(var##_result_.ok()) << var##_result_.Describe();                                        \
  auto var = std::move(var##_result_).take()
