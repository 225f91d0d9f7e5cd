// Removal races: IPC_RMID concurrent with shmat by id and shmget by key on a
// few hot keys. Every outcome must be one the kernel may give: a successful
// attach is to a live segment (IPC_STAT works while attached, the segment's
// header names that very id); failures carry exactly EINVAL or EIDRM (by id)
// or ENOENT (by key); a removed key no longer finds the removed id; a
// segment seen destroyed stays destroyed; nothing outlives the run.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/shm_table.h"

namespace shmconform::stress {
namespace {

enum Op : unsigned { kCreateAttach, kLookupAttach, kRemove, kStat };

struct Header {
  std::atomic<std::int64_t> owner_id;  // 0 until the first attacher names it
  std::atomic<std::uint64_t> attaches;
};

// Attaches `id` (found by `how`) and checks what it attached to.
void AttachAndCheck(Worker& w, int id, key_t key, const char* how) {
  void* mem = shmat(id, nullptr, 0);
  if (!w.CheckOkOrErrno(reinterpret_cast<long>(mem), {EINVAL, EIDRM}, "shmat(shmid %d from %s of key %#x)", id, how,
                        key))
    return;
  shmid_ds ds{};
  w.CheckOk(shmctl(id, IPC_STAT, &ds), "shmctl(shmid %d, IPC_STAT) while attached", id);
  if (ds.shm_nattch < 1)
    w.Fail("shmid %d: shm_nattch %lu while we are attached", id, static_cast<unsigned long>(ds.shm_nattch));
  const bool dest = (ds.shm_perm.mode & SHM_DEST) != 0;
  if (dest != (ds.shm_perm.__key == IPC_PRIVATE))
    w.Fail("shmid %d: SHM_DEST %s but key %#x", id, dest ? "set" : "clear", static_cast<unsigned>(ds.shm_perm.__key));
  if (!dest && ds.shm_perm.__key != key)
    w.Fail("shmid %d: key %#x, expected %#x", id, static_cast<unsigned>(ds.shm_perm.__key), static_cast<unsigned>(key));
  auto* h = static_cast<Header*>(mem);
  std::int64_t expected = 0;
  h->owner_id.compare_exchange_strong(expected, id);
  if (w.config().Injecting("corrupt-byte") && w.index() == 0) h->owner_id.store(id ^ 1);
  const std::int64_t owner = h->owner_id.load();
  if (owner != id) w.Fail("attached shmid %d, but its memory belongs to shmid %lld", id, static_cast<long long>(owner));
  h->attaches.fetch_add(1);
  w.CheckOk(shmdt(mem), "shmdt(%p) of shmid %d", mem, id);
}

void DoOp(Worker& w, unsigned op, key_t key, std::size_t size) {
  switch (op) {
    case kCreateAttach: {
      const int id = shmget(key, size, IPC_CREAT | 0600);
      w.CheckOk(id, "shmget(key %#x, %zu, IPC_CREAT)", key, size);
      AttachAndCheck(w, id, key, "shmget(IPC_CREAT)");
      break;
    }
    case kLookupAttach: {
      const int id = shmget(key, 0, 0);
      if (w.CheckOkOrErrno(id, {ENOENT}, "shmget(key %#x, 0, 0)", key)) AttachAndCheck(w, id, key, "shmget");
      break;
    }
    case kRemove: {
      const int id = shmget(key, 0, 0);
      if (!w.CheckOkOrErrno(id, {ENOENT}, "shmget(key %#x, 0, 0)", key)) break;
      if (!w.CheckOkOrErrno(shmctl(id, IPC_RMID, nullptr), {EINVAL, EIDRM}, "shmctl(shmid %d, IPC_RMID)", id)) break;
      const int again = shmget(key, 0, 0);
      if (again == id) w.Fail("shmget(key %#x) still finds shmid %d after its IPC_RMID", key, id);
      w.CheckOkOrErrno(again, {ENOENT}, "shmget(key %#x, 0, 0) after IPC_RMID", key);
      // Either still alive (attached elsewhere, so marked) or destroyed for good.
      void* mem = shmat(id, nullptr, 0);
      if (mem != reinterpret_cast<void*>(-1)) {
        shmid_ds ds{};
        w.CheckOk(shmctl(id, IPC_STAT, &ds), "shmctl(shmid %d, IPC_STAT) while attached", id);
        if (!(ds.shm_perm.mode & SHM_DEST)) w.Fail("shmid %d attached after its IPC_RMID, but SHM_DEST is clear", id);
        w.CheckOk(shmdt(mem), "shmdt(%p)", mem);
      } else {
        w.CheckOkOrErrno(-1, {EINVAL, EIDRM}, "shmat(shmid %d) after its IPC_RMID", id);
        shmid_ds ds{};
        w.CheckErrno(shmctl(id, IPC_STAT, &ds), EINVAL, "shmctl(shmid %d, IPC_STAT) after shmat found it destroyed",
                     id);
      }
      break;
    }
    case kStat: {
      const int id = shmget(key, 0, 0);
      if (!w.CheckOkOrErrno(id, {ENOENT}, "shmget(key %#x, 0, 0)", key)) break;
      shmid_ds ds{};
      if (!w.CheckOkOrErrno(shmctl(id, IPC_STAT, &ds), {EINVAL, EIDRM}, "shmctl(shmid %d, IPC_STAT)", id)) break;
      if (ds.shm_segsz != size)
        w.Fail("shmid %d: shm_segsz %zu, expected %zu", id, static_cast<size_t>(ds.shm_segsz), size);
      break;
    }
  }
}

void Work(Worker& w) {
  const unsigned slots = static_cast<unsigned>(w.config().Value("segments"));
  const std::size_t size = w.config().Value("size");
  if (w.config().Injecting("leak-segment") && w.index() == 0)
    w.CheckOk(shmget(IPC_PRIVATE, size, IPC_CREAT | 0600), "shmget(IPC_PRIVATE)");  // never removed
  static constexpr unsigned kWeights[] = {4, 4, 3, 2};
  unsigned total = 0;
  for (unsigned x : kWeights) total += x;
  while (w.Running()) {
    unsigned pick = static_cast<unsigned>(w.rng().Below(total)), op = 0;
    while (pick >= kWeights[op]) pick -= kWeights[op++];
    const unsigned slot = static_cast<unsigned>(w.rng().Below(slots));
    w.Begin(op);
    DoOp(w, op, w.run().KeyFor(slot), size);
    w.End();
  }
}

// After the run no segment of a worker may survive but the keyed, unattached
// ones (a removed segment dies at its last detach).
void Finish(Run& run) {
  const std::vector<pid_t> pids = run.WorkerPids();
  const auto base = static_cast<std::uint32_t>(run.key_base());
  shmconform::ShmTable table;
  for (shmconform::ShmTableEntry e; table.Next(&e);) {
    const shmid_ds& ds = e.ds;
    if (std::find(pids.begin(), pids.end(), ds.shm_cpid) == pids.end()) continue;
    const auto key = static_cast<std::uint32_t>(ds.shm_perm.__key);
    const bool keyed = key >= base && key < base + run.config().Value("segments");
    if (!keyed || ds.shm_nattch != 0 || (ds.shm_perm.mode & SHM_DEST))
      run.Fail("shmid %d (key %#x, nattch %lu, created by worker pid %d) outlived the run: leaked", e.id, key,
               static_cast<unsigned long>(ds.shm_nattch), static_cast<int>(ds.shm_cpid));
  }
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "rmid-race";
  def.summary = "IPC_RMID racing shmat by id and shmget by key: no attach to a destroyed segment, no leak.";
  def.op_names = {"create-attach", "lookup-attach", "remove", "stat"};
  def.injections = {"corrupt-byte", "leak-segment"};
  def.options = {{"segments", 4, 1, kKeySlots, "hot keys raced over"},
                 {"size", 4096, sizeof(std::int64_t) * 2, 1u << 30, "segment size in bytes"}};
  def.validate = [](const Config& c) -> std::string {
    const std::string over_shmmax = CheckShmmax(c.Value("size"));
    if (!over_shmmax.empty()) return over_shmmax;
    return CheckMemory(c.Value("size") * c.Value("segments"), "--segments x --size");
  };
  def.work = Work;
  def.finish = Finish;
  return StressMain(argc, argv, def);
}
