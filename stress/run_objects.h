// What a run creates on the host and how it is found again: SysV segments by
// key block and creator, POSIX shm names by prefix, files in one scratch
// directory. Used by the parent at the end of a run and by the janitor after
// the parent died.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>

#include "framework.h"

namespace shmconform::stress {

struct RunObjects {
  key_t key_base;
  std::string name_prefix;  // without the leading slash
  std::string scratch_dir;  // "" when the run made none
  std::set<pid_t> creators;
};

// The objects of `run` as far as it knows them now (workers record their
// pids themselves, before they create anything).
RunObjects ObjectsOf(const Run& run, const std::string& name_prefix);

// Removes the run's SysV segments (keyed in its block, or private and no
// longer attached, and created by one of its processes), its POSIX shm
// objects and its scratch directory. Returns how many objects it removed.
int RemoveRunObjects(const RunObjects& r);

// A block of kKeySlots SysV keys carrying the suite's marker byte in which no
// segment exists right now.
key_t ChooseKeyBase();

}  // namespace shmconform::stress
