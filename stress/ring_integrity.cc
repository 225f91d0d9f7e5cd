// Cross-process data integrity: every worker pushes sequence-numbered,
// checksummed records into a lock-free ring in one SysV segment and pops the
// records of others. Each popped record is checked (checksum, exact payload,
// per-producer order as seen by one reader); at the end every record was
// consumed exactly once, and a counter that every process increments with
// atomic fetch_add holds exactly the sum of the increments.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"

namespace shmconform::stress {
namespace {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "cross-process atomics must be lock-free");

enum Op : unsigned { kPush, kPop, kCount };

struct Cell {
  std::atomic<std::uint64_t> seq;
  std::uint32_t producer;
  std::uint32_t length;
  std::uint64_t pseq;
  std::uint64_t checksum;
  // payload follows
};

struct Ring {
  alignas(64) std::atomic<std::uint64_t> counter;
  alignas(64) std::atomic<std::uint64_t> enqueue;
  alignas(64) std::atomic<std::uint64_t> dequeue;
  std::uint64_t cells, cell_bytes, record;
};

struct Tally {                            // what reader r saw of producer p
  std::uint64_t count, sum, sumsq, next;  // next: the smallest pseq still allowed
};

struct Shared {
  int shmid;
  Ring* ring;
  std::uint64_t* produced;    // [workers]
  std::uint64_t* increments;  // [workers]
  Tally* tally;               // [(workers + 1) * workers]; row `workers` is the parent's drain
};

Cell* CellAt(Ring* r, std::uint64_t i) {
  return reinterpret_cast<Cell*>(reinterpret_cast<char*>(r) + sizeof(Ring) + i * r->cell_bytes);
}
unsigned char* Payload(Cell* c) { return reinterpret_cast<unsigned char*>(c + 1); }

std::uint64_t Checksum(const Cell* c, const unsigned char* payload) {
  std::uint64_t h = 0xcbf29ce484222325ull ^ c->producer ^ (c->pseq << 20) ^ c->length;
  for (std::uint32_t i = 0; i < c->length; ++i) h = (h ^ payload[i]) * 0x100000001b3ull;
  return h;
}

std::uint64_t PayloadTag(std::uint64_t seed, std::uint32_t producer, std::uint64_t pseq) {
  return Mix64(seed ^ (std::uint64_t{producer} << 48) ^ pseq) | 1;
}

// Vyukov's bounded MPMC queue: a cell's seq says whose turn it is.
Cell* ClaimForPush(Ring* r, std::uint64_t* pos_out) {
  std::uint64_t pos = r->enqueue.load(std::memory_order_relaxed);
  for (;;) {
    Cell* c = CellAt(r, pos % r->cells);
    const auto dif = static_cast<std::int64_t>(c->seq.load(std::memory_order_acquire) - pos);
    if (dif == 0) {
      if (r->enqueue.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        *pos_out = pos;
        return c;
      }
    } else if (dif < 0) {
      return nullptr;  // full
    } else {
      pos = r->enqueue.load(std::memory_order_relaxed);
    }
  }
}

Cell* ClaimForPop(Ring* r, std::uint64_t* pos_out) {
  std::uint64_t pos = r->dequeue.load(std::memory_order_relaxed);
  for (;;) {
    Cell* c = CellAt(r, pos % r->cells);
    const auto dif = static_cast<std::int64_t>(c->seq.load(std::memory_order_acquire) - (pos + 1));
    if (dif == 0) {
      if (r->dequeue.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        *pos_out = pos;
        return c;
      }
    } else if (dif < 0) {
      return nullptr;  // empty (or a producer is still writing)
    } else {
      pos = r->dequeue.load(std::memory_order_relaxed);
    }
  }
}

// Checks one popped record; returns an error text or "".
std::string CheckRecord(Cell* c, std::uint64_t seed, unsigned workers, std::uint64_t record, Tally* row) {
  char buf[300];
  if (c->producer >= workers || c->length != record) {
    std::snprintf(buf, sizeof buf, "record header garbled: producer %u length %u", c->producer, c->length);
    return buf;
  }
  const unsigned char* p = Payload(c);
  if (Checksum(c, p) != c->checksum) {
    const std::uint64_t tag = PayloadTag(seed, c->producer, c->pseq);
    long bad = VerifyPattern(p, c->length, tag);
    std::snprintf(buf, sizeof buf,
                  "record producer %u seq %llu: checksum mismatch; payload byte %ld is %#x, expected %#x", c->producer,
                  static_cast<unsigned long long>(c->pseq), bad, bad >= 0 ? p[bad] : 0,
                  bad >= 0 ? PatternByte(tag, bad) : 0);
    return buf;
  }
  const long bad = VerifyPattern(p, c->length, PayloadTag(seed, c->producer, c->pseq));
  if (bad >= 0) {
    std::snprintf(buf, sizeof buf, "record producer %u seq %llu: payload byte %ld wrong (checksum matched)",
                  c->producer, static_cast<unsigned long long>(c->pseq), bad);
    return buf;
  }
  Tally& t = row[c->producer];
  if (c->pseq < t.next) {
    std::snprintf(buf, sizeof buf,
                  "record producer %u seq %llu seen after seq %llu by the same reader (reordered or duplicated)",
                  c->producer, static_cast<unsigned long long>(c->pseq), static_cast<unsigned long long>(t.next - 1));
    return buf;
  }
  t.next = c->pseq + 1;
  t.count++;
  t.sum += c->pseq;
  t.sumsq += c->pseq * c->pseq;
  return "";
}

void Work(Worker& w) {
  Shared& sh = *w.user<Shared>();
  Ring* r = sh.ring;
  const unsigned me = w.index(), workers = w.config().workers;
  const std::uint64_t seed = w.config().seed;
  Tally* row = sh.tally + static_cast<std::size_t>(me) * workers;
  while (w.Running()) {
    const std::uint64_t roll = w.rng().Below(16);
    unsigned op = roll < 7 ? kPush : roll < 14 ? kPop : kCount;
    std::uint64_t pos;
    Cell* c = nullptr;
    if (op == kPush && !(c = ClaimForPush(r, &pos))) op = kPop;
    if (op == kPop && !c && !(c = ClaimForPop(r, &pos))) {
      op = kPush;
      if (!(c = ClaimForPush(r, &pos))) continue;  // neither: another process holds cells mid-copy
    }
    w.Begin(op);
    if (op == kCount) {
      r->counter.fetch_add(1, std::memory_order_relaxed);
      sh.increments[me]++;
    } else if (op == kPush) {
      c->producer = me;
      c->length = static_cast<std::uint32_t>(r->record);
      c->pseq = sh.produced[me];
      FillPattern(Payload(c), c->length, PayloadTag(seed, me, c->pseq));
      c->checksum = Checksum(c, Payload(c));
      if (w.config().Injecting("corrupt-byte") && me == 0) Payload(c)[w.rng().Below(c->length)] ^= 0x01;
      sh.produced[me]++;
      c->seq.store(pos + 1, std::memory_order_release);
    } else {
      const std::string err = CheckRecord(c, seed, workers, r->record, row);
      if (!err.empty()) w.Fail("%s", err.c_str());
      if (w.config().Injecting("lose-record") && me == 0) {
        Tally& t = row[c->producer];  // forget we saw it
        t.count--;
        t.sum -= c->pseq;
        t.sumsq -= c->pseq * c->pseq;
      }
      c->seq.store(pos + r->cells, std::memory_order_release);
    }
    w.End();
  }
}

void Setup(Run& run) {
  const Config& c = run.config();
  auto* sh = run.SharedArray<Shared>(1);
  const std::uint64_t record = c.Value("record"), cells = c.Value("cells");
  const std::uint64_t cell_bytes = (sizeof(Cell) + record + 63) / 64 * 64;
  const std::uint64_t bytes = sizeof(Ring) + cells * cell_bytes;
  sh->shmid = shmget(run.KeyFor(0), bytes, IPC_CREAT | IPC_EXCL | 0600);
  if (sh->shmid < 0)
    return run.Fail("shmget(key %#x, %llu, IPC_CREAT|IPC_EXCL) failed with %s", run.KeyFor(0),
                    static_cast<unsigned long long>(bytes), ErrnoName(errno).c_str());
  void* mem = shmat(sh->shmid, nullptr, 0);  // the workers inherit the attachment
  if (mem == reinterpret_cast<void*>(-1))
    return run.Fail("shmat(%d) failed with %s", sh->shmid, ErrnoName(errno).c_str());
  sh->ring = static_cast<Ring*>(mem);
  sh->ring->cells = cells;
  sh->ring->cell_bytes = cell_bytes;
  sh->ring->record = record;
  for (std::uint64_t i = 0; i < cells; ++i) CellAt(sh->ring, i)->seq.store(i);
  sh->produced = run.SharedArray<std::uint64_t>(c.workers);
  sh->increments = run.SharedArray<std::uint64_t>(c.workers);
  sh->tally = run.SharedArray<Tally>(static_cast<std::size_t>(c.workers + 1) * c.workers);
  run.user = sh;
}

void Finish(Run& run) {
  Shared& sh = *static_cast<Shared*>(run.user);
  Ring* r = sh.ring;
  const unsigned workers = run.config().workers;
  Tally* drain = sh.tally + static_cast<std::size_t>(workers) * workers;
  std::uint64_t pos;
  while (Cell* c = ClaimForPop(r, &pos)) {
    const std::string err = CheckRecord(c, run.config().seed, workers, r->record, drain);
    if (!err.empty()) return run.Fail("draining the ring: %s", err.c_str());
    c->seq.store(pos + r->cells, std::memory_order_release);
  }
  if (r->enqueue.load() != r->dequeue.load())
    run.Fail("ring not empty after the drain: enqueue %llu, dequeue %llu",
             static_cast<unsigned long long>(r->enqueue.load()), static_cast<unsigned long long>(r->dequeue.load()));
  std::uint64_t increments = 0;
  for (unsigned p = 0; p < workers; ++p) {
    increments += sh.increments[p];
    std::uint64_t count = 0, sum = 0, sumsq = 0;
    for (unsigned reader = 0; reader <= workers; ++reader) {
      const Tally& t = sh.tally[static_cast<std::size_t>(reader) * workers + p];
      count += t.count;
      sum += t.sum;
      sumsq += t.sumsq;
    }
    const std::uint64_t n = sh.produced[p];
    std::uint64_t want_sum = 0, want_sumsq = 0;
    for (std::uint64_t i = 0; i < n; ++i) want_sum += i, want_sumsq += i * i;
    if (count != n || sum != want_sum || sumsq != want_sumsq)
      run.Fail(
          "producer %u: %llu records produced, %llu consumed (sequence sums %llu/%llu, expected %llu/%llu): "
          "records lost or duplicated",
          p, static_cast<unsigned long long>(n), static_cast<unsigned long long>(count),
          static_cast<unsigned long long>(sum), static_cast<unsigned long long>(sumsq),
          static_cast<unsigned long long>(want_sum), static_cast<unsigned long long>(want_sumsq));
  }
  if (r->counter.load() != increments)
    run.Fail("shared counter is %llu after %llu atomic increments", static_cast<unsigned long long>(r->counter.load()),
             static_cast<unsigned long long>(increments));
  shmdt(r);
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "ring-integrity";
  def.summary = "Checksummed, sequence-numbered records through a lock-free ring in SysV shm; an exact shared counter.";
  def.op_names = {"push", "pop", "count"};
  def.injections = {"corrupt-byte", "lose-record"};
  def.options = {{"record", 64, 1, 65536, "payload bytes per record"},
                 {"cells", 1024, 2, 1u << 20, "records the ring holds"}};
  def.validate = [](const Config& c) -> std::string {
    const std::uint64_t cell = (sizeof(Cell) + c.Value("record") + 63) / 64 * 64;
    const std::uint64_t bytes = sizeof(Ring) + c.Value("cells") * cell;
    const auto shmmax = shmconform::ReadProcNumber("/proc/sys/kernel/shmmax");
    if (shmmax && bytes > *shmmax)
      return "--cells x --record (" + std::to_string(bytes) + " bytes) exceeds kernel.shmmax (" +
             std::to_string(*shmmax) + ")";
    return CheckMemory(bytes, "--cells x --record");
  };
  def.setup = Setup;
  def.work = Work;
  def.finish = Finish;
  return StressMain(argc, argv, def);
}
