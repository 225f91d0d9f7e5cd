#include "run_objects.h"

#include <dirent.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>

#include "run_state.h"
#include "shmconform/owners.h"
#include "shmconform/shm_table.h"
#include "shmconform/unique_names.h"

namespace shmconform::stress {
namespace {

bool InKeyBlock(key_t key, key_t base) {
  const auto k = static_cast<std::uint32_t>(key), b = static_cast<std::uint32_t>(base);
  return k >= b && k < b + kKeySlots;
}

int RemoveSegments(const RunObjects& r) {
  int removed = 0;
  ShmTable table;
  for (ShmTableEntry e; table.Next(&e);) {
    const bool ours_by_key = InKeyBlock(e.ds.shm_perm.__key, r.key_base);
    const bool ours_private = e.ds.shm_perm.__key == IPC_PRIVATE && e.ds.shm_nattch == 0;
    if ((ours_by_key || ours_private) && r.creators.count(e.ds.shm_cpid) && shmctl(e.id, IPC_RMID, nullptr) == 0)
      ++removed;
  }
  return removed;
}

int RemovePosixShm(const std::string& name_prefix) {
  int removed = 0;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d)) {
      if (std::strncmp(e->d_name, name_prefix.c_str(), name_prefix.size()) == 0 &&
          shm_unlink(("/" + std::string(e->d_name)).c_str()) == 0)
        ++removed;
    }
    closedir(d);
  }
  return removed;
}

}  // namespace

RunObjects ObjectsOf(const Run& run, const std::string& name_prefix) {
  RunObjects r{run.key_base(), name_prefix, run.scratch_dir(), {}};
  r.creators.insert(run.shared()->parent_pid);
  for (unsigned i = 0; i < run.config().workers; ++i)
    if (run.shared()->worker_pids[i] > 0) r.creators.insert(run.shared()->worker_pids[i]);
  return r;
}

int RemoveRunObjects(const RunObjects& r) {
  int removed = RemoveSegments(r) + RemovePosixShm(r.name_prefix);
  struct stat st;
  if (!r.scratch_dir.empty() && lstat(r.scratch_dir.c_str(), &st) == 0) {
    RemoveTree(r.scratch_dir);
    ++removed;
  }
  return removed;
}

key_t ChooseKeyBase() {
  for (;;) {
    std::uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<std::uint32_t>(MonotonicNs());
    const auto base = static_cast<key_t>((kKeyMarker << 24) | ((r & 0xffff) << 8));
    bool free = true;
    ShmTable table;
    for (ShmTableEntry e; free && table.Next(&e);) free = !InKeyBlock(e.ds.shm_perm.__key, base);
    if (free) return base;
  }
}

}  // namespace shmconform::stress
