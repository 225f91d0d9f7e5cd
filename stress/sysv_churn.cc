// SysV lifecycle churn: workers create, look up, attach, write, verify,
// detach, stat, remove and fork on a shared pool of keyed segments. Each slot
// of the pool has a reference model (in shared memory, under the slot's lock)
// of what the kernel must report: existence, size, shm_nattch, SHM_DEST, the
// data pattern, and the exact errno of every operation that must fail.
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"

namespace shmconform::stress {
namespace {

enum Op : unsigned { kCreate, kLookup, kAttach, kWrite, kVerify, kDetach, kStat, kRemove, kFork };

struct Slot {
  SharedLock lock;
  int id;      // -1: no segment in the model
  bool keyed;  // reachable by key (not yet IPC_RMID'd)
  std::uint32_t size;
  std::uint32_t nattch;
  std::uint64_t tag;  // data pattern; 0: still zero-filled
};

struct Pool {
  unsigned slots;
  Slot* slot;
  bool fork_ok;  // MADV_DONTFORK keeps attachments out of children here
};

struct Local {
  void* att[kKeySlots] = {};
  std::uint64_t writes = 0;
  bool injected = false;
};

size_t Mapped(std::uint32_t size) { return RoundUpToPage(size); }

void CheckGone(Worker& w, int id, const char* after) {
  shmid_ds ds{};
  w.CheckErrno(shmctl(id, IPC_STAT, &ds), EINVAL, "shmctl(shmid %d, IPC_STAT) after %s destroyed it", id, after);
  w.CheckErrno(reinterpret_cast<long>(shmat(id, nullptr, 0)), EINVAL, "shmat(shmid %d) after %s destroyed it", id,
               after);
}

void CheckStat(Worker& w, const Slot& s, key_t key, unsigned extra = 0) {
  shmid_ds ds{};
  w.CheckOk(shmctl(s.id, IPC_STAT, &ds), "shmctl(shmid %d, IPC_STAT)", s.id);
  if (ds.shm_segsz != s.size)
    w.Fail("shmid %d: IPC_STAT shm_segsz %zu, expected %u", s.id, static_cast<size_t>(ds.shm_segsz), s.size);
  if (ds.shm_nattch != s.nattch + extra)
    w.Fail("shmid %d: IPC_STAT shm_nattch %lu, expected %u", s.id, static_cast<unsigned long>(ds.shm_nattch),
           s.nattch + extra);
  const bool dest = (ds.shm_perm.mode & SHM_DEST) != 0;
  if (dest == s.keyed)
    w.Fail("shmid %d: SHM_DEST is %s, expected %s", s.id, dest ? "set" : "clear", s.keyed ? "clear" : "set");
  const key_t want = s.keyed ? key : IPC_PRIVATE;
  if (ds.shm_perm.__key != want)
    w.Fail("shmid %d: IPC_STAT key %#x, expected %#x", s.id, static_cast<unsigned>(ds.shm_perm.__key),
           static_cast<unsigned>(want));
}

void VerifyData(Worker& w, const Slot& s, const void* mem, unsigned slot) {
  const long bad = s.tag ? VerifyPattern(mem, s.size, s.tag) : VerifyZero(mem, s.size);
  if (bad >= 0)
    w.Fail("slot %u shmid %d: byte %ld of %u is %#x, expected %#x", slot, s.id, bad, s.size,
           static_cast<const unsigned char*>(mem)[bad], s.tag ? PatternByte(s.tag, bad) : 0);
  const long tail = VerifyZero(static_cast<const char*>(mem) + s.size, Mapped(s.size) - s.size);
  if (tail >= 0)
    w.Fail("slot %u shmid %d: byte %ld past the size (in the rounded-up page) is not zero", slot, s.id, s.size + tail);
}

void Detach(Worker& w, Slot& s, Local& l, unsigned slot, key_t key) {
  void* addr = l.att[slot];
  if (w.config().Injecting("skip-detach") && w.index() == 0) {
    l.injected = true;  // the model believes in a detach that never happens
  } else {
    w.CheckOk(shmdt(addr), "shmdt(%p) of shmid %d", addr, s.id);
    w.CheckErrno(shmdt(addr), EINVAL, "second shmdt(%p) of shmid %d", addr, s.id);
  }
  l.att[slot] = nullptr;
  s.nattch--;
  if (!s.keyed && s.nattch == 0) {
    const int id = s.id;
    s.id = -1;
    CheckGone(w, id, "the last shmdt of a removed segment");
    (void)key;
  }
}

void DoOp(Worker& w, Pool& pool, Local& l, unsigned op, unsigned slot) {
  Slot& s = pool.slot[slot];
  const key_t key = w.run().KeyFor(slot);
  void* const mine = l.att[slot];
  switch (op) {
    case kCreate: {
      const std::uint32_t size = static_cast<std::uint32_t>(w.rng().Between(1, w.config().Value("size")));
      const int rv = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
      if (s.id >= 0 && s.keyed) {
        w.CheckErrno(rv, EEXIST, "shmget(key %#x, %u, IPC_CREAT|IPC_EXCL) while shmid %d has the key", key, size, s.id);
      } else {
        w.CheckOk(rv, "shmget(key %#x, %u, IPC_CREAT|IPC_EXCL|0600)", key, size);
        if (s.id >= 0) {
          // The key was free because the old segment is only marked: two live
          // segments in one slot would blur the model, so drop the new one.
          w.CheckOk(shmctl(rv, IPC_RMID, nullptr), "shmctl(shmid %d, IPC_RMID)", rv);
          CheckGone(w, rv, "IPC_RMID of an unattached segment");
        } else {
          s.id = rv;
          s.keyed = true;
          s.size = size;
          s.nattch = 0;
          s.tag = 0;
        }
      }
      break;
    }
    case kLookup: {
      const int rv = shmget(key, 0, 0);
      if (s.id >= 0 && s.keyed) {
        w.CheckOk(rv, "shmget(key %#x, 0, 0)", key);
        if (rv != s.id) w.Fail("shmget(key %#x) returned shmid %d, expected %d", key, rv, s.id);
        w.CheckErrno(shmget(key, s.size + 1, 0), EINVAL, "shmget(key %#x, %u) for a segment of %u bytes", key,
                     s.size + 1, s.size);
        w.CheckErrno(shmget(key, s.size, IPC_CREAT | IPC_EXCL | 0600), EEXIST,
                     "shmget(key %#x, IPC_CREAT|IPC_EXCL) on an existing key", key);
      } else {
        w.CheckErrno(rv, ENOENT, "shmget(key %#x, 0, 0) for a key that names no segment", key);
      }
      break;
    }
    case kAttach: {
      if (s.id < 0) {
        w.CheckErrno(shmget(key, 0, 0), ENOENT, "shmget(key %#x, 0, 0) for a key that names no segment", key);
        break;
      }
      if (mine) {
        VerifyData(w, s, mine, slot);
        break;
      }
      void* addr = shmat(s.id, nullptr, 0);
      w.CheckOk(reinterpret_cast<long>(addr), "shmat(shmid %d, NULL, 0)%s", s.id,
                s.keyed ? "" : " of a removed segment");
      w.CheckOk(madvise(addr, Mapped(s.size), MADV_DONTFORK), "madvise(%p, MADV_DONTFORK)", addr);
      l.att[slot] = addr;
      s.nattch++;
      break;
    }
    case kWrite:
      if (!mine) break;
      s.tag = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ (std::uint64_t{slot} << 24) ^ ++l.writes) | 1;
      FillPattern(mine, s.size, s.tag);
      if (w.config().Injecting("corrupt-byte") && w.index() == 0) {
        l.injected = true;
        static_cast<unsigned char*>(mine)[w.rng().Below(s.size)] ^= 0x40;
      }
      break;
    case kVerify:
      if (mine) VerifyData(w, s, mine, slot);
      break;
    case kDetach:
      if (mine) {
        Detach(w, s, l, slot, key);
      } else {
        int local = 0;
        w.CheckErrno(shmdt(&local), EINVAL, "shmdt(%p) of an address that is no attachment",
                     static_cast<void*>(&local));
      }
      break;
    case kStat:
      if (s.id >= 0) {
        CheckStat(w, s, key);
      } else {
        w.CheckErrno(shmget(key, 0, 0), ENOENT, "shmget(key %#x, 0, 0) for a key that names no segment", key);
      }
      break;
    case kRemove: {
      if (s.id < 0) {
        w.CheckErrno(shmget(key, 0, 0), ENOENT, "shmget(key %#x, 0, 0) for a key that names no segment", key);
        break;
      }
      const int id = s.id;
      w.CheckOk(shmctl(id, IPC_RMID, nullptr), "shmctl(shmid %d, IPC_RMID)", id);
      s.keyed = false;
      if (s.nattch == 0) {
        s.id = -1;
        CheckGone(w, id, "IPC_RMID of an unattached segment");
      } else {
        w.CheckErrno(shmget(key, 0, 0), ENOENT, "shmget(key %#x, 0, 0) after IPC_RMID of attached shmid %d", key, id);
      }
      break;
    }
    case kFork: {
      if (!mine) break;
      // Only this attachment is inherited: the others stay MADV_DONTFORK, so
      // other slots' shm_nattch never sees our child.
      w.CheckOk(madvise(mine, Mapped(s.size), MADV_DOFORK), "madvise(%p, MADV_DOFORK)", mine);
      const pid_t pid = w.ForkChild();
      if (pid == 0) {
        CheckStat(w, s, key, 1);  // plus the copy this child inherited
        VerifyData(w, s, mine, slot);
        _exit(0);
      }
      int status = 0;
      w.CheckOk(waitpid(pid, &status, 0), "waitpid(%d)", pid);
      if (!WIFEXITED(status)) w.Fail("forked child %d was killed by %s", pid, SignalName(WTERMSIG(status)).c_str());
      if (WEXITSTATUS(status) != 0) _exit(kExitViolation);  // the child reported it
      w.CheckOk(madvise(mine, Mapped(s.size), MADV_DONTFORK), "madvise(%p, MADV_DONTFORK)", mine);
      CheckStat(w, s, key);  // the child's exit detached its copy
      break;
    }
  }
}

void Work(Worker& w) {
  Pool& pool = *w.user<Pool>();
  Local l;
  static constexpr unsigned kWeights[] = {4, 2, 6, 4, 6, 6, 4, 4, 1};
  unsigned total = 0;
  for (unsigned x : kWeights) total += x;
  while (w.Running()) {
    unsigned pick = static_cast<unsigned>(w.rng().Below(total)), op = 0;
    while (pick >= kWeights[op]) pick -= kWeights[op++];
    const unsigned slot = static_cast<unsigned>(w.rng().Below(pool.slots));
    Slot& s = pool.slot[slot];
    if (!s.lock.Lock(w)) break;
    // Data operations need an attachment: without one they attach instead,
    // so every counted operation does (and verifies) something.
    if (op == kFork && !pool.fork_ok) op = kVerify;
    if (!l.att[slot] && (op == kWrite || op == kVerify || op == kFork)) op = kAttach;
    w.Begin(op);
    DoOp(w, pool, l, op, slot);
    s.lock.Unlock();
    w.End();
  }
  for (unsigned slot = 0; slot < pool.slots; ++slot) {
    if (!l.att[slot]) continue;
    Slot& s = pool.slot[slot];
    // Wait for the lock even when stopping: leaving with the attachment would
    // detach it behind the model's back while another worker checks
    // shm_nattch under this lock. (A holder that died is the parent's to
    // kill us for; a live one finishes its operation.)
    s.lock.Lock();
    Detach(w, s, l, slot, w.run().KeyFor(slot));  // cleanup: checked, not counted
    s.lock.Unlock();
  }
}

// Whether a child forked after MADV_DONTFORK really lacks the attachment (it
// does on Linux; qemu-user ignores the advice). The fork operation needs it.
bool DontforkHonoured() {
  const int id = shmget(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600);
  if (id < 0) return false;
  void* mem = shmat(id, nullptr, 0);
  shmctl(id, IPC_RMID, nullptr);
  if (mem == reinterpret_cast<void*>(-1)) return false;
  bool ok = false;
  if (madvise(mem, PageSize(), MADV_DONTFORK) == 0) {
    const pid_t pid = fork();
    if (pid == 0) {
      shmid_ds ds{};
      _exit(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1 ? 0 : 1);
    }
    int status = 0;
    ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  shmdt(mem);
  return ok;
}

void Setup(Run& run) {
  auto* pool = run.SharedArray<Pool>(1);
  pool->fork_ok = DontforkHonoured();
  if (!pool->fork_ok)
    std::fprintf(stderr,
                 "stress-sysv-churn: note: MADV_DONTFORK is not honoured here (qemu-user?); no fork operations\n");
  pool->slots = static_cast<unsigned>(run.config().Value("segments"));
  pool->slot = run.SharedArray<Slot>(pool->slots);
  for (unsigned i = 0; i < pool->slots; ++i) pool->slot[i].id = -1;
  run.user = pool;
}

void Finish(Run& run) {
  const Pool& pool = *static_cast<Pool*>(run.user);
  for (unsigned i = 0; i < pool.slots; ++i) {
    const Slot& s = pool.slot[i];
    const int rv = shmget(run.KeyFor(i), 0, 0);
    if (s.id < 0) {
      if (rv != -1 || errno != ENOENT)
        run.Fail("slot %u: key %#x still names a segment after every worker ended", i, run.KeyFor(i));
      continue;
    }
    shmid_ds ds{};
    if (shmctl(s.id, IPC_STAT, &ds) != 0) {
      run.Fail("slot %u: IPC_STAT of shmid %d failed with %s after the run", i, s.id, ErrnoName(errno).c_str());
    } else if (ds.shm_nattch != 0 || s.nattch != 0) {
      run.Fail("slot %u shmid %d: shm_nattch %lu (model %u) after every worker exited, expected 0", i, s.id,
               static_cast<unsigned long>(ds.shm_nattch), s.nattch);
    }
  }
}

std::string Validate(const Config& c) {
  const std::string over_shmmax = CheckShmmax(c.Value("size"));
  if (!over_shmmax.empty()) return over_shmmax;
  return CheckMemory(c.Value("size") * c.Value("segments"), "--segments x --size");
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "sysv-churn";
  def.summary = "SysV lifecycle churn on a shared pool of keyed segments, checked against a reference model.";
  def.op_names = {"create", "lookup", "attach", "write", "verify", "detach", "stat", "remove", "fork"};
  def.injections = {"corrupt-byte", "skip-detach"};
  def.options = {{"segments", 16, 1, kKeySlots, "segments (keys) in the shared pool"},
                 {"size", 16384, 1, 1u << 30, "largest segment size in bytes (each is 1..size)"}};
  def.validate = Validate;
  def.setup = Setup;
  def.work = Work;
  def.finish = Finish;
  return StressMain(argc, argv, def);
}
