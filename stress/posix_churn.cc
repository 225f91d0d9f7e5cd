// POSIX shm churn: workers create, open, truncate, map, write, verify and
// unlink a shared pool of named objects. A per-name model (size, which bytes
// hold the pattern, which are zero) predicts every result, including the
// exact errno of opens and unlinks that must fail and SIGBUS past the end.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"
#include "shmconform/unique_names.h"

namespace shmconform::stress {
namespace {

enum Op : unsigned { kCreate, kOpen, kTruncate, kWrite, kVerify, kUnlink, kStat };

struct Slot {
  SharedLock lock;
  char name[96];
  bool exists;
  std::uint64_t size;
  std::uint64_t plen;  // bytes [0, plen) hold the pattern, [plen, size) are zero
  std::uint64_t tag;
};

struct Pool {
  unsigned slots;
  Slot* slot;
};

struct Local {
  std::uint64_t writes = 0;
  bool injected = false;
};

int OpenExisting(Worker& w, const Slot& s) {
  return static_cast<int>(w.CheckOk(shm_open(s.name, O_RDWR, 0), "shm_open(%s, O_RDWR)", s.name));
}

void CheckSize(Worker& w, const Slot& s, int fd) {
  struct stat st;
  w.CheckOk(fstat(fd, &st), "fstat(%s)", s.name);
  if (static_cast<std::uint64_t>(st.st_size) != s.size)
    w.Fail("%s: fstat st_size %lld, expected %llu", s.name, static_cast<long long>(st.st_size),
           static_cast<unsigned long long>(s.size));
  if ((st.st_mode & 0777) != 0600) w.Fail("%s: mode %o, expected 600", s.name, st.st_mode & 0777);
}

void Verify(Worker& w, const Slot& s, int fd) {
  CheckSize(w, s, fd);
  // One page more than the object: the page past the end must raise SIGBUS.
  const size_t mapped = RoundUpToPage(s.size), len = mapped + PageSize();
  void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  w.CheckOk(p == MAP_FAILED ? -1 : 0, "mmap(%zu, PROT_READ, MAP_SHARED, %s)", len, s.name);
  const auto* b = static_cast<const unsigned char*>(p);
  long bad = VerifyPattern(b, s.plen, s.tag);
  if (bad < 0) {
    bad = VerifyZero(b + s.plen, mapped - s.plen);
    if (bad >= 0) bad += static_cast<long>(s.plen);
  }
  if (bad >= 0)
    w.Fail("%s: byte %ld of %llu is %#x, expected %#x", s.name, bad, static_cast<unsigned long long>(s.size), b[bad],
           static_cast<std::uint64_t>(bad) < s.plen ? PatternByte(s.tag, bad) : 0);
  char c;
  const Fault f = ProbeRead(reinterpret_cast<const volatile char*>(b + mapped), &c);
  if (f.signal != SIGBUS || f.si_code != BUS_ADRERR || f.address != reinterpret_cast<std::uintptr_t>(b + mapped))
    w.Fail("%s: reading the page past the end (%p) of a %llu-byte object gave %s, expected SIGBUS/BUS_ADRERR there",
           s.name, static_cast<const void*>(b + mapped), static_cast<unsigned long long>(s.size),
           DescribeFault(f).c_str());
  munmap(p, len);
}

void DoOp(Worker& w, Slot& s, Local& l, unsigned op) {
  const std::uint64_t max = w.config().Value("size");
  switch (op) {
    case kCreate: {
      const int fd = shm_open(s.name, O_CREAT | O_EXCL | O_RDWR, 0600);
      if (s.exists) {
        w.CheckErrno(fd, EEXIST, "shm_open(%s, O_CREAT|O_EXCL) of an existing name", s.name);
        break;
      }
      w.CheckOk(fd, "shm_open(%s, O_CREAT|O_EXCL|O_RDWR, 0600)", s.name);
      s.exists = true;
      s.size = 0;
      s.plen = 0;
      CheckSize(w, s, fd);
      const std::uint64_t size = w.rng().Between(1, max);
      w.CheckOk(ftruncate(fd, static_cast<off_t>(size)), "ftruncate(%s, %llu)", s.name,
                static_cast<unsigned long long>(size));
      s.size = size;
      close(fd);
      break;
    }
    case kOpen:
    case kStat: {
      const int fd = shm_open(s.name, O_RDWR, 0);
      if (!s.exists) {
        w.CheckErrno(fd, ENOENT, "shm_open(%s, O_RDWR) of a name that was never created or is unlinked", s.name);
        break;
      }
      w.CheckOk(fd, "shm_open(%s, O_RDWR)", s.name);
      CheckSize(w, s, fd);
      if (op == kStat)
        w.CheckErrno(shm_open(s.name, O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST,
                     "shm_open(%s, O_CREAT|O_EXCL) of an existing name", s.name);
      close(fd);
      break;
    }
    case kTruncate: {
      const int fd = OpenExisting(w, s);
      const std::uint64_t size = w.rng().Between(1, max);
      w.CheckOk(ftruncate(fd, static_cast<off_t>(size)), "ftruncate(%s, %llu)", s.name,
                static_cast<unsigned long long>(size));
      s.size = size;
      s.plen = std::min(s.plen, size);
      CheckSize(w, s, fd);
      close(fd);
      break;
    }
    case kWrite: {
      const int fd = OpenExisting(w, s);
      void* p = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      w.CheckOk(p == MAP_FAILED ? -1 : 0, "mmap(%llu, PROT_READ|PROT_WRITE, MAP_SHARED, %s)",
                static_cast<unsigned long long>(s.size), s.name);
      close(fd);  // the mapping keeps the object
      s.tag = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ ++l.writes) | 1;
      FillPattern(p, s.size, s.tag);
      s.plen = s.size;
      if (w.config().Injecting("corrupt-byte") && w.index() == 0) {
        l.injected = true;
        static_cast<unsigned char*>(p)[w.rng().Below(s.size)] ^= 0x40;
      }
      w.CheckOk(munmap(p, s.size), "munmap(%p)", p);
      break;
    }
    case kVerify: {
      const int fd = OpenExisting(w, s);
      Verify(w, s, fd);
      close(fd);
      break;
    }
    case kUnlink: {
      const int rv = (w.config().Injecting("skip-unlink") && w.index() == 0 && s.exists) ? (l.injected = true, 0)
                                                                                         : shm_unlink(s.name);
      if (!s.exists) {
        w.CheckErrno(rv, ENOENT, "shm_unlink(%s) of a name that is not there", s.name);
        break;
      }
      w.CheckOk(rv, "shm_unlink(%s)", s.name);
      s.exists = false;
      break;
    }
  }
}

void Work(Worker& w) {
  Pool& pool = *w.user<Pool>();
  Local l;
  static constexpr unsigned kWeights[] = {4, 3, 3, 4, 5, 3, 2};
  unsigned total = 0;
  for (unsigned x : kWeights) total += x;
  while (w.Running()) {
    unsigned pick = static_cast<unsigned>(w.rng().Below(total)), op = 0;
    while (pick >= kWeights[op]) pick -= kWeights[op++];
    Slot& s = pool.slot[w.rng().Below(pool.slots)];
    if (!s.lock.Lock(w)) break;
    // Operations on an object need one: without it they create it.
    if (!s.exists && (op == kTruncate || op == kWrite || op == kVerify)) op = kCreate;
    w.Begin(op);
    DoOp(w, s, l, op);
    s.lock.Unlock();
    w.End();
  }
}

void Setup(Run& run) {
  auto* pool = run.SharedArray<Pool>(1);
  pool->slots = static_cast<unsigned>(run.config().Value("objects"));
  pool->slot = run.SharedArray<Slot>(pool->slots);
  for (unsigned i = 0; i < pool->slots; ++i)
    std::snprintf(pool->slot[i].name, sizeof pool->slot[i].name, "%s", run.ShmName("p" + std::to_string(i)).c_str());
  run.user = pool;
}

void Finish(Run& run) {
  const Pool& pool = *static_cast<Pool*>(run.user);
  for (unsigned i = 0; i < pool.slots; ++i) {
    const Slot& s = pool.slot[i];
    const int fd = shm_open(s.name, O_RDONLY, 0);
    if (s.exists != (fd >= 0))
      run.Fail("%s: shm_open after the run %s, but the model says it %s", s.name, fd >= 0 ? "succeeded" : "failed",
               s.exists ? "exists" : "was unlinked");
    if (fd >= 0) close(fd);
  }
}

std::string SkipReason(const Config&) {
  const std::string name = UniqueShmName("probe");
  const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return "POSIX shm unavailable here: shm_open failed with " + ErrnoName(errno) + " (no /dev/shm?)";
  close(fd);
  shm_unlink(name.c_str());
  return "";
}

std::string Validate(const Config& c) {
  struct statvfs vfs;
  if (statvfs("/dev/shm", &vfs) == 0) {
    const std::uint64_t free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (c.Value("size") * c.Value("objects") > free)
      return "--size=" + std::to_string(c.Value("size")) + " times --objects=" + std::to_string(c.Value("objects")) +
             " exceeds the free space of /dev/shm (" + std::to_string(free) + " bytes)";
  }
  return "";
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "posix-churn";
  def.summary = "POSIX shm churn: open/truncate/map/unlink of a shared pool of names, checked against a model.";
  def.op_names = {"create", "open", "truncate", "write", "verify", "unlink", "stat"};
  def.injections = {"corrupt-byte", "skip-unlink"};
  def.options = {{"objects", 16, 1, 1024, "names in the shared pool"},
                 {"size", 16384, 1, 1ull << 30, "largest object size in bytes (each is 1..size)"}};
  def.validate = Validate;
  def.skip_reason = SkipReason;
  def.setup = Setup;
  def.work = Work;
  def.finish = Finish;
  return StressMain(argc, argv, def);
}
