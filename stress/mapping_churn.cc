// Mapping churn: each worker maps, unmaps, MAP_FIXED-replaces, mprotects,
// mremaps, madvises and forks over its own table of anonymous mappings
// (private and shared), checking a per-page pattern model after every step:
// exact contents, SEGV_MAPERR after munmap, SEGV_ACCERR on a read-only page,
// zero pages where the kernel must supply them, and private-versus-shared
// isolation across fork.
#include <sys/mman.h>
#include <sys/wait.h>
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

enum Op : unsigned { kMap, kUnmap, kFill, kVerify, kFixed, kProtect, kRemap, kAdvise, kFork };

struct Page {
  std::uint64_t tag = 0;  // 0: must read as zero
};

struct Entry {
  char* addr = nullptr;
  bool shared = false;  // MAP_SHARED|MAP_ANONYMOUS (one vma per entry)
  std::vector<Page> pages;
};

struct State {
  std::vector<Entry> table;
  std::uint64_t fills = 0;
  bool injected = false;
};

size_t Ps() { return PageSize(); }

void VerifyEntry(Worker& w, const Entry& e, const char* after) {
  for (size_t i = 0; i < e.pages.size(); ++i) {
    const char* p = e.addr + i * Ps();
    const long bad = e.pages[i].tag ? VerifyPattern(p, Ps(), e.pages[i].tag) : VerifyZero(p, Ps());
    if (bad >= 0)
      w.Fail("%s mapping %p page %zu: byte %ld is %#x, expected %#x (after %s)", e.shared ? "shared" : "private",
             static_cast<const void*>(e.addr), i, bad, static_cast<unsigned char>(p[bad]),
             e.pages[i].tag ? PatternByte(e.pages[i].tag, bad) : 0, after);
  }
}

void ExpectFault(Worker& w, char* addr, bool write, int code, const char* why) {
  char c = 0;
  const Fault f = write ? ProbeWrite(addr, 1) : ProbeRead(addr, &c);
  if (f.signal != SIGSEGV || f.si_code != code || f.address != reinterpret_cast<std::uintptr_t>(addr))
    w.Fail("%s %p %s gave %s, expected SIGSEGV/%s at that address", write ? "writing" : "reading",
           static_cast<void*>(addr), why, DescribeFault(f).c_str(), SiCodeName(SIGSEGV, code).c_str());
}

char* MapNew(Worker& w, size_t pages, bool shared) {
  void* p =
      mmap(nullptr, pages * Ps(), PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  w.CheckOk(p == MAP_FAILED ? -1 : 0, "mmap(NULL, %zu, RW, %s|MAP_ANONYMOUS)", pages * Ps(),
            shared ? "MAP_SHARED" : "MAP_PRIVATE");
  return static_cast<char*>(p);
}

void Unmap(Worker& w, State& st, size_t idx) {
  Entry e = std::move(st.table[idx]);
  st.table.erase(st.table.begin() + static_cast<long>(idx));
  const bool skip = w.config().Injecting("skip-unmap") && w.index() == 0;
  if (skip) {
    st.injected = true;
  } else {
    w.CheckOk(munmap(e.addr, e.pages.size() * Ps()), "munmap(%p, %zu)", static_cast<void*>(e.addr),
              e.pages.size() * Ps());
  }
  // Nothing else maps in this single-threaded process meanwhile.
  ExpectFault(w, e.addr + (e.pages.size() - 1) * Ps(), false, SEGV_MAPERR, "in a range just unmapped");
}

void DoOp(Worker& w, State& st, unsigned op) {
  const size_t max_pages = w.config().Value("pages");
  Rng& rng = w.rng();
  if (op == kMap) {
    Entry fresh;
    fresh.shared = rng.OneIn(2);
    fresh.pages.resize(rng.Between(1, max_pages));
    fresh.addr = MapNew(w, fresh.pages.size(), fresh.shared);
    VerifyEntry(w, fresh, "mmap of fresh anonymous memory");
    st.table.push_back(std::move(fresh));
    return;
  }
  const size_t idx = rng.Below(st.table.size());
  Entry& e = st.table[idx];
  const size_t n = e.pages.size();
  switch (op) {
    case kMap: break;
    case kUnmap: Unmap(w, st, idx); break;
    case kFill: {
      const size_t i = rng.Below(n);
      e.pages[i].tag = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ ++st.fills) | 1;
      FillPattern(e.addr + i * Ps(), Ps(), e.pages[i].tag);
      if (w.config().Injecting("corrupt-byte") && w.index() == 0) {
        st.injected = true;
        e.addr[i * Ps() + rng.Below(Ps())] ^= 0x20;
      }
      VerifyEntry(w, e, "a fill");
      break;
    }
    case kVerify: VerifyEntry(w, e, "verify"); break;
    case kFixed: {
      // Replace [a, b) with fresh private memory; the entry splits in up to
      // three, so each entry stays one vma (mremap needs that).
      size_t a = rng.Below(n), b = rng.Between(a + 1, n);
      if (st.table.size() + 2 > w.config().Value("mappings")) a = 0, b = n;
      char* want = e.addr + a * Ps();
      void* got = mmap(want, (b - a) * Ps(), PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      w.CheckOk(got == MAP_FAILED ? -1 : 0, "mmap(%p, %zu, MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS)",
                static_cast<void*>(want), (b - a) * Ps());
      if (got != want) w.Fail("mmap(%p, MAP_FIXED) returned %p", static_cast<void*>(want), got);
      Entry mid{want, false, std::vector<Page>(b - a)};
      Entry tail{e.addr + b * Ps(), e.shared, std::vector<Page>(e.pages.begin() + static_cast<long>(b), e.pages.end())};
      e.pages.resize(a);
      for (const Entry* part : {&e, &mid, &tail})
        if (!part->pages.empty()) VerifyEntry(w, *part, "a MAP_FIXED replacement");
      if (!tail.pages.empty()) st.table.push_back(std::move(tail));
      st.table.push_back(std::move(mid));
      if (st.table[idx].pages.empty()) st.table.erase(st.table.begin() + static_cast<long>(idx));
      break;
    }
    case kProtect: {
      const size_t len = n * Ps();
      w.CheckOk(mprotect(e.addr, len, PROT_READ), "mprotect(%p, %zu, PROT_READ)", static_cast<void*>(e.addr), len);
      ExpectFault(w, e.addr + rng.Below(n) * Ps() + rng.Below(Ps()), true, SEGV_ACCERR, "in a PROT_READ mapping");
      VerifyEntry(w, e, "mprotect(PROT_READ)");
      w.CheckOk(mprotect(e.addr, len, PROT_READ | PROT_WRITE), "mprotect(%p, %zu, RW)", static_cast<void*>(e.addr),
                len);
      break;
    }
    case kRemap: {
      // Shared anonymous memory cannot grow (its object has a fixed size).
      const size_t to = e.shared ? rng.Between(1, n) : rng.Between(1, max_pages);
      void* got = mremap(e.addr, n * Ps(), to * Ps(), MREMAP_MAYMOVE);
      w.CheckOk(got == MAP_FAILED ? -1 : 0, "mremap(%p, %zu, %zu, MREMAP_MAYMOVE)", static_cast<void*>(e.addr),
                n * Ps(), to * Ps());
      char* old = e.addr;
      e.addr = static_cast<char*>(got);
      e.pages.resize(to);  // new pages read as zero
      VerifyEntry(w, e, "mremap");
      if (e.addr != old) ExpectFault(w, old, false, SEGV_MAPERR, "in the old range of a moved mremap");
      break;
    }
    case kAdvise: {
      const size_t i = rng.Below(n);
      w.CheckOk(madvise(e.addr + i * Ps(), Ps(), MADV_DONTNEED), "madvise(%p, MADV_DONTNEED)",
                static_cast<void*>(e.addr + i * Ps()));
      if (!e.shared) e.pages[i].tag = 0;  // private anonymous pages come back zero
      VerifyEntry(w, e, e.shared ? "MADV_DONTNEED of shared memory" : "MADV_DONTNEED of private memory");
      break;
    }
    case kFork: {
      // The child rewrites every page; only shared pages may show it here.
      const std::uint64_t base = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ ++st.fills);
      const pid_t pid = w.ForkChild();
      if (pid == 0) {
        VerifyEntry(w, e, "fork (the child's copy)");
        for (size_t i = 0; i < n; ++i) FillPattern(e.addr + i * Ps(), Ps(), (base + i) | 1);
        _exit(0);
      }
      int status = 0;
      w.CheckOk(waitpid(pid, &status, 0), "waitpid(%d)", pid);
      if (!WIFEXITED(status)) w.Fail("forked child %d was killed by %s", pid, SignalName(WTERMSIG(status)).c_str());
      if (WEXITSTATUS(status) != 0) _exit(kExitViolation);
      if (e.shared)
        for (size_t i = 0; i < n; ++i) e.pages[i].tag = (base + i) | 1;
      VerifyEntry(w, e, e.shared ? "a forked child wrote the shared mapping" : "a forked child wrote its private copy");
      break;
    }
  }
}

void Work(Worker& w) {
  State st;
  const size_t max = w.config().Value("mappings");
  static constexpr unsigned kWeights[] = {3, 2, 6, 4, 2, 2, 2, 2, 1};
  unsigned total = 0;
  for (unsigned x : kWeights) total += x;
  while (w.Running()) {
    unsigned pick = static_cast<unsigned>(w.rng().Below(total)), op = 0;
    while (pick >= kWeights[op]) pick -= kWeights[op++];
    if (st.table.empty()) op = kMap;
    if (op == kMap && st.table.size() >= max) op = kUnmap;
    w.Begin(op);
    DoOp(w, st, op);
    w.End();
  }
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "mapping-churn";
  def.summary = "mmap/munmap/MAP_FIXED/mprotect/mremap/madvise/fork churn with per-page patterns verified.";
  def.op_names = {"map", "unmap", "fill", "verify", "fixed", "mprotect", "mremap", "madvise", "fork"};
  def.injections = {"corrupt-byte", "skip-unmap"};
  def.options = {{"mappings", 8, 1, 256, "mappings per worker"}, {"pages", 16, 1, 4096, "largest mapping in pages"}};
  def.validate = [](const Config& c) -> std::string {
    const std::uint64_t bytes = c.Value("mappings") * c.Value("pages") * shmconform::PageSize() * c.workers;
    return CheckMemory(bytes, "--mappings x --pages x --workers");
  };
  def.work = Work;
  return StressMain(argc, argv, def);
}
