#include "shmconform/shm_table.h"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/child.h"
#include "shmconform/owners.h"
#include "shmconform/syscall_matchers.h"
#include "shmconform/unique_names.h"

namespace shmconform {
namespace {

// How often one walk lists `id`, and the last entry that did (slot, key, size).
int Sightings(int id, ShmTableEntry* seen, int stat_command = SHM_STAT) {
  int count = 0;
  ShmTable table(stat_command);
  for (ShmTableEntry e; table.Next(&e);) {
    if (e.id != id) continue;
    *seen = e;
    ++count;
  }
  return count;
}

TEST(ShmTableTest, WalkListsOurSegmentOnceWithWhatShmStatReports) {
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, 4321, IPC_CREAT | IPC_EXCL | 0600));
  ShmTableEntry e;
  ASSERT_EQ(Sightings(seg.id(), &e), 1);
  EXPECT_EQ(e.ds.shm_perm.__key, key);
  EXPECT_EQ(e.ds.shm_segsz, 4321u);
  EXPECT_EQ(e.ds.shm_cpid, getpid());
  shmid_ds by_slot{};
  EXPECT_THAT(shmctl(e.index, SHM_STAT, &by_slot), SyscallSucceedsWithValue(seg.id()));
}

TEST(ShmTableTest, RemovedSegmentIsNoLongerListed) {
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
  const int id = seg.id();
  ASSERT_THAT(shmctl(seg.release(), IPC_RMID, nullptr), SyscallSucceeds());
  ShmTableEntry e;
  EXPECT_EQ(Sightings(id, &e), 0);
}

TEST(ShmTableTest, ForkedChildWalksTheTable) {
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
  const int id = seg.id();
  EXPECT_THAT(RunInChild([id] {
                ShmTableEntry e;
                CHILD_CHECK(Sightings(id, &e) == 1);
              }),
              ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
