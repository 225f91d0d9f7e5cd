#include "shmconform/exec_scenario.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace shmconform {
namespace {

constexpr char kScenarioFlag[] = "--shmconform_scenario=";
constexpr char kReportFdFlag[] = "--shmconform_report_fd=";

std::map<std::string, ScenarioFn>& Registry() {
  static std::map<std::string, ScenarioFn> registry;
  return registry;
}

std::string& SelfPath() {
  static std::string path;
  return path;
}

bool StartsWith(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

}  // namespace

const std::string& SelfExecutable() { return SelfPath(); }

ScenarioRegistrar::ScenarioRegistrar(const char* name, ScenarioFn fn) { Registry()[name] = fn; }

void RecordSelfPath(const char* argv0) {
  // /proc/self/exe names the binary even when argv[0] is bare; qemu-user
  // answers it with the emulated binary's path, which is what we want.
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    SelfPath() = buf;
  } else if (argv0 && std::strchr(argv0, '/')) {
    char resolved[PATH_MAX];
    SelfPath() = realpath(argv0, resolved) ? resolved : argv0;
  }
}

bool DispatchScenario(int argc, char** argv, int* exit_code) {
  RecordSelfPath(argc > 0 ? argv[0] : nullptr);
  if (argc < 2 || !StartsWith(argv[1], kScenarioFlag)) return false;
  const std::string name = argv[1] + std::strlen(kScenarioFlag);
  int first_arg = 2;
  if (argc > 2 && StartsWith(argv[2], kReportFdFlag)) {
    InstallChildRecorder(std::atoi(argv[2] + std::strlen(kReportFdFlag)));
    first_arg = 3;
  }
  const auto it = Registry().find(name);
  if (it == Registry().end()) {
    std::fprintf(stderr, "shmconform: no scenario named '%s' in this binary\n", name.c_str());
    *exit_code = 2;
    return true;
  }
  const std::vector<std::string> args(argv + first_arg, argv + argc);
  *exit_code = it->second(args);
  std::fflush(stdout);
  return true;
}

SysResult<ExecOutcome> RunScenarioInExec(const std::string& name, const std::vector<std::string>& args) {
  return RunScenarioInExecKeepingFd(name, args, -1);
}

SysResult<ExecOutcome> RunScenarioInExecKeepingFd(const std::string& name, const std::vector<std::string>& args,
                                                  int keep_fd) {
  using R = SysResult<ExecOutcome>;
  if (SelfPath().empty()) return R::Error(ENOENT, "locating the test binary (/proc/self/exe)");
  int out[2], report[2], exec_error[2];
  if (pipe2(out, O_CLOEXEC) != 0) return R::Error(errno, "pipe2");
  if (pipe2(report, O_CLOEXEC) != 0) return R::Error(errno, "pipe2");
  if (pipe2(exec_error, O_CLOEXEC) != 0) return R::Error(errno, "pipe2");

  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  const std::string scenario_flag = kScenarioFlag + name;
  const std::string report_flag = kReportFdFlag + std::to_string(report[1]);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(SelfPath().c_str()));
  argv.push_back(const_cast<char*>(scenario_flag.c_str()));
  argv.push_back(const_cast<char*>(report_flag.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return R::Error(errno, "fork");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    fcntl(report[1], F_SETFD, 0);
    if (keep_fd >= 0) fcntl(keep_fd, F_SETFD, 0);
    execv(argv[0], argv.data());
    const int err = errno;
    (void)!write(exec_error[1], &err, sizeof err);
    _exit(127);
  }
  close(out[1]);
  close(report[1]);
  close(exec_error[1]);

  ExecOutcome result;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out[0]);
  int exec_errno = 0;
  const bool exec_failed = read(exec_error[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno;
  close(exec_error[0]);
  result.outcome = WaitForChild(pid, report[0]);
  if (exec_failed) return R::Error(exec_errno, "execv(" + SelfPath() + ")");
  return R::Ok(std::move(result));
}

}  // namespace shmconform
