// The kernel's table of System V segments, walked slot by slot: SHM_INFO
// gives the highest slot in use, SHM_STAT (or SHM_STAT_ANY) reads one slot.
// The one way to list every segment with its key, creator and attach count
// without /proc (which UML, initramfs and qemu-user targets may lack).
//
// Only shmctl is called, nothing is allocated: a forked child of a threaded
// process may walk the table too (async-signal-safe).
#pragma once

#include <sys/ipc.h>
#include <sys/shm.h>

namespace shmconform {

// One segment in use: its slot (the argument SHM_STAT takes), its shmid and
// what SHM_STAT reported about it.
struct ShmTableEntry {
  int index = -1;
  int id = -1;
  shmid_ds ds{};
};

// One pass over the table, lowest slot first:
//   ShmTable table;
//   for (ShmTableEntry e; table.Next(&e);) ...
// Other processes' segments may come and go meanwhile; each slot is read
// once. Slots the stat command refuses (a free slot, or EACCES: SHM_STAT
// checks read permission, SHM_STAT_ANY does not) are passed over.
class ShmTable {
 public:
  explicit ShmTable(int stat_command = SHM_STAT);
  // The next segment in use; false when the walk is over.
  bool Next(ShmTableEntry* entry);

 private:
  int stat_command_;
  int highest_index_;  // -1 when SHM_INFO fails: an empty walk
  int next_index_ = 0;
};

}  // namespace shmconform
