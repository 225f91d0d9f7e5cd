// msync and truncate races: every worker maps one file MAP_SHARED at its
// largest size and writes, verifies and msyncs its own pages while others
// ftruncate the file shorter and longer. Checked exactly: an access raises
// SIGBUS (BUS_ADRERR, at the accessed address) if and only if its page lies
// wholly past end of file; cut pages come back zero; after msync(MS_SYNC)
// pread sees what the mapping holds; pwrite shows through the mapping.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"

namespace shmconform::stress {
namespace {

enum Op : unsigned { kWrite, kVerify, kMsync, kPwrite, kTruncate };

struct Shared {
  SharedRwLock size_lock;  // shared for page access, exclusive to truncate
  std::uint64_t size_pages;
  std::uint64_t pages;
  char path[512];
  std::uint64_t tag[1];  // [pages]; 0: zero
};

size_t Ps() { return PageSize(); }

struct Local {
  int fd = -1;
  char* map = nullptr;
  std::uint64_t writes = 0;
  bool injected = false;
  std::vector<char> buf;
};

void ExpectBus(Worker& w, char* addr, bool write, const Shared& sh, std::uint64_t page) {
  char c;
  const Fault f = write ? ProbeWrite(addr, 1) : ProbeRead(addr, &c);
  if (f.signal != SIGBUS || f.si_code != BUS_ADRERR || f.address != reinterpret_cast<std::uintptr_t>(addr))
    w.Fail("%s page %llu (%p) of a file of %llu pages gave %s, expected SIGBUS/BUS_ADRERR there",
           write ? "writing" : "reading", static_cast<unsigned long long>(page), static_cast<void*>(addr),
           static_cast<unsigned long long>(sh.size_pages), DescribeFault(f).c_str());
}

void VerifyPage(Worker& w, const Shared& sh, std::uint64_t page, const char* mem, const char* via) {
  const std::uint64_t tag = sh.tag[page];
  const long bad = tag ? VerifyPattern(mem, Ps(), tag) : VerifyZero(mem, Ps());
  if (bad >= 0)
    w.Fail("page %llu read through %s: byte %ld is %#x, expected %#x (file of %llu pages)",
           static_cast<unsigned long long>(page), via, bad, static_cast<unsigned char>(mem[bad]),
           tag ? PatternByte(tag, bad) : 0, static_cast<unsigned long long>(sh.size_pages));
}

void PageOp(Worker& w, Shared& sh, Local& l, unsigned op, std::uint64_t page) {
  char* addr = l.map + page * Ps();
  const off_t off = static_cast<off_t>(page * Ps());
  if (page >= sh.size_pages) {  // wholly past end of file
    ExpectBus(w, addr, op == kWrite, sh, page);
    return;
  }
  switch (op) {
    case kWrite:
      sh.tag[page] = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ ++l.writes) | 1;
      FillPattern(addr, Ps(), sh.tag[page]);
      if (w.config().Injecting("corrupt-byte") && w.index() == 0) {
        l.injected = true;
        addr[w.rng().Below(Ps())] ^= 0x10;
      }
      break;
    case kVerify: VerifyPage(w, sh, page, addr, "the mapping"); break;
    case kMsync:
      w.CheckOk(msync(addr, Ps(), MS_SYNC), "msync(%p, %zu, MS_SYNC)", static_cast<void*>(addr), Ps());
      if (pread(l.fd, l.buf.data(), Ps(), off) != static_cast<ssize_t>(Ps()))
        w.Fail("pread of page %llu after msync returned short or failed (%s)", static_cast<unsigned long long>(page),
               ErrnoName(errno).c_str());
      VerifyPage(w, sh, page, l.buf.data(), "pread after msync");
      break;
    case kPwrite:
      sh.tag[page] = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ ++l.writes) | 1;
      FillPattern(l.buf.data(), Ps(), sh.tag[page]);
      if (pwrite(l.fd, l.buf.data(), Ps(), off) != static_cast<ssize_t>(Ps()))
        w.Fail("pwrite of page %llu failed or was short (%s)", static_cast<unsigned long long>(page),
               ErrnoName(errno).c_str());
      VerifyPage(w, sh, page, addr, "the mapping after pwrite");
      break;
  }
}

void Truncate(Worker& w, Shared& sh, Local& l) {
  const std::uint64_t to = w.rng().Between(1, sh.pages);
  if (!(w.config().Injecting("skip-truncate") && w.index() == 0 && to < sh.size_pages)) {
    w.CheckOk(ftruncate(l.fd, static_cast<off_t>(to * Ps())), "ftruncate(%s, %llu pages)", sh.path,
              static_cast<unsigned long long>(to));
  } else {
    l.injected = true;
  }
  for (std::uint64_t p = to; p < sh.pages; ++p) sh.tag[p] = 0;  // cut pages come back zero
  sh.size_pages = to;
  struct stat st;
  w.CheckOk(fstat(l.fd, &st), "fstat(%s)", sh.path);
  if (!w.config().Injecting("skip-truncate") && static_cast<std::uint64_t>(st.st_size) != to * Ps())
    w.Fail("fstat size %lld after ftruncate to %llu bytes", static_cast<long long>(st.st_size),
           static_cast<unsigned long long>(to * Ps()));
}

void Work(Worker& w) {
  Shared& sh = *w.user<Shared>();
  Local l;
  l.buf.resize(Ps());
  l.fd = static_cast<int>(w.CheckOk(open(sh.path, O_RDWR | O_CLOEXEC), "open(%s)", sh.path));
  void* m = mmap(nullptr, sh.pages * Ps(), PROT_READ | PROT_WRITE, MAP_SHARED, l.fd, 0);
  w.CheckOk(m == MAP_FAILED ? -1 : 0, "mmap(%llu pages, MAP_SHARED, %s)", static_cast<unsigned long long>(sh.pages),
            sh.path);
  l.map = static_cast<char*>(m);
  const unsigned workers = w.config().workers;
  static constexpr unsigned kWeights[] = {6, 6, 2, 2, 1};
  unsigned total = 0;
  for (unsigned x : kWeights) total += x;
  // Each worker owns the pages p with p % workers == index.
  const std::uint64_t own = (sh.pages + workers - 1 - w.index()) / workers;
  while (w.Running()) {
    unsigned pick = static_cast<unsigned>(w.rng().Below(total)), op = 0;
    while (pick >= kWeights[op]) pick -= kWeights[op++];
    if (own == 0) op = kTruncate;
    const std::uint64_t page = own ? w.rng().Below(own) * workers + w.index() : 0;
    if (op == kTruncate) {
      if (!sh.size_lock.LockExclusive(w)) break;
      w.Begin(op);
      Truncate(w, sh, l);
      w.End();
      sh.size_lock.UnlockExclusive();
    } else {
      if (!sh.size_lock.LockShared(w)) break;
      w.Begin(op);
      PageOp(w, sh, l, op, page);
      w.End();
      sh.size_lock.UnlockShared();
    }
  }
}

void Setup(Run& run) {
  const std::uint64_t pages = run.config().Value("pages");
  auto* sh = static_cast<Shared*>(run.SharedAlloc(sizeof(Shared) + pages * sizeof(std::uint64_t)));
  sh->pages = pages;
  sh->size_pages = (pages + 1) / 2;
  std::snprintf(sh->path, sizeof sh->path, "%s/file", run.scratch_dir().c_str());
  const int fd = open(sh->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(sh->size_pages * PageSize())) != 0)
    run.Fail("creating %s failed with %s", sh->path, ErrnoName(errno).c_str());
  if (fd >= 0) close(fd);
  run.user = sh;
}

void Finish(Run& run) {
  const Shared& sh = *static_cast<Shared*>(run.user);
  const int fd = open(sh.path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    run.Fail("cannot open %s after the run: %s", sh.path, ErrnoName(errno).c_str());
    return;
  }
  if (static_cast<std::uint64_t>(st.st_size) != sh.size_pages * PageSize())
    run.Fail("%s is %lld bytes after the run, the model says %llu pages", sh.path, static_cast<long long>(st.st_size),
             static_cast<unsigned long long>(sh.size_pages));
  std::vector<char> buf(PageSize());
  for (std::uint64_t p = 0; p < sh.size_pages; ++p) {
    if (pread(fd, buf.data(), buf.size(), static_cast<off_t>(p * PageSize())) != static_cast<ssize_t>(buf.size())) {
      run.Fail("pread of page %llu after the run failed", static_cast<unsigned long long>(p));
      break;
    }
    const long bad = sh.tag[p] ? VerifyPattern(buf.data(), buf.size(), sh.tag[p]) : VerifyZero(buf.data(), buf.size());
    if (bad >= 0) {
      run.Fail("file page %llu byte %ld differs from the model after the run", static_cast<unsigned long long>(p), bad);
      break;
    }
  }
  close(fd);
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "msync-truncate";
  def.summary = "Concurrent writers, ftruncate and msync on one MAP_SHARED file: SIGBUS exactly on cut pages.";
  def.op_names = {"write", "verify", "msync", "pwrite", "truncate"};
  def.injections = {"corrupt-byte", "skip-truncate"};
  def.options = {{"pages", 64, 1, 1u << 18, "largest file size in pages"}};
  def.uses_files = true;
  def.validate = [](const Config& c) -> std::string {
    // No scratch directory at all: the run skips, saying why.
    auto scratch = shmconform::RunScratchDir();
    if (!scratch.ok()) return "";
    struct statvfs vfs;
    const std::uint64_t bytes = c.Value("pages") * shmconform::PageSize();
    if (statvfs(scratch.value().c_str(), &vfs) == 0 && bytes > static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize)
      return "--pages=" + std::to_string(c.Value("pages")) + " exceeds the free space of " + scratch.value();
    return "";
  };
  def.setup = Setup;
  def.work = Work;
  def.finish = Finish;
  return StressMain(argc, argv, def);
}
