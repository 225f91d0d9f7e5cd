#include "janitor.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "run_objects.h"
#include "run_state.h"

namespace shmconform::stress {
namespace {

// True when the parent wrote "done"; false when the pipe closed without it.
bool ParentFinished(int fd) {
  char byte = 0;
  ssize_t n;
  do n = read(fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  return n == 1;
}

[[noreturn]] void CleanUpAfterParent(const Run& run, const std::string& name_prefix, int fd) {
  ResetChildSignals();
  const int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) dup2(devnull, 1);
  if (ParentFinished(fd)) _exit(0);
  const int removed = RemoveRunObjects(ObjectsOf(run, name_prefix));
  // The parent would have removed the suite's scratch directory at exit had
  // it made it; rmdir takes it only when empty, i.e. no other process's.
  if (!run.scratch_dir().empty()) {
    std::string parent = run.scratch_dir();
    rmdir(dirname(parent.data()));
  }
  std::fprintf(stderr, "%s: janitor: the main process died; removed %d object(s) of the run\n", BinaryName(), removed);
  _exit(0);
}

}  // namespace

bool Janitor::Start(const Run& run, const std::string& name_prefix) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  pid_ = fork();
  if (pid_ == 0) {
    close(fds[1]);
    CleanUpAfterParent(run, name_prefix, fds[0]);
  }
  const int fork_errno = errno;
  close(fds[0]);
  if (pid_ < 0) {
    close(fds[1]);
    errno = fork_errno;
    return false;
  }
  done_fd_ = fds[1];
  return true;
}

void Janitor::Dismiss() {
  if (pid_ <= 0) return;
  [[maybe_unused]] ssize_t ignored = write(done_fd_, "d", 1);
  close(done_fd_);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace shmconform::stress
