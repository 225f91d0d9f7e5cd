#include "shmconform/shm_table.h"

namespace shmconform {

ShmTable::ShmTable(int stat_command) : stat_command_(stat_command) {
  shm_info info{};
  highest_index_ = shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&info));
}

bool ShmTable::Next(ShmTableEntry* entry) {
  while (next_index_ <= highest_index_) {
    const int index = next_index_++;
    shmid_ds ds{};
    const int id = shmctl(index, stat_command_, &ds);
    if (id < 0) continue;
    entry->index = index;
    entry->id = id;
    entry->ds = ds;
    return true;
  }
  return false;
}

}  // namespace shmconform
