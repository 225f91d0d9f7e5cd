// The janitor: a process forked before the workers that cleans up after a
// parent killed with SIGKILL. It waits on a pipe from the parent; when the
// pipe closes without the parent's "done" byte, every process of the run is
// gone (workers die with the parent) and it removes the run's objects.
#pragma once

#include <sys/types.h>

#include <string>

#include "framework.h"

namespace shmconform::stress {

class Janitor {
 public:
  // Forks the janitor for `run`, whose objects are named by `name_prefix`;
  // false (errno set) when it cannot.
  bool Start(const Run& run, const std::string& name_prefix);
  pid_t pid() const { return pid_; }
  // The parent cleaned up itself: the janitor exits without removing
  // anything, and is reaped.
  void Dismiss();

 private:
  pid_t pid_ = -1;
  int done_fd_ = -1;
};

}  // namespace shmconform::stress
