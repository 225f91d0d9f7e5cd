// msync cost against the number of dirty pages: a MAP_SHARED file mapping of
// 1024 pages, of which N are dirtied (not timed) before each msync of the
// whole mapping (timed). The label names the scratch file system: on tmpfs
// msync has nothing to write back; on a disk file system MS_SYNC waits for
// the device, so the times (and rates) are wall-clock time.
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "shmconform/owners.h"
#include "shmconform/system_info.h"

namespace shmconform::bench {
namespace {

constexpr size_t kMappingPages = 1024;

std::string FileSystemName(int fd) {
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0) return "unknown fs";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char buf[32];
      snprintf(buf, sizeof buf, "fs magic %#lx", static_cast<unsigned long>(fs.f_type));
      return buf;
    }
  }
}

void Msync(benchmark::State& state, int flags) {
  const size_t dirty = static_cast<size_t>(state.range(0));
  const size_t page = PageSize();
  const size_t length = kMappingPages * page;
  auto file = TempFile::Create(static_cast<off_t>(length));
  if (!file.ok()) {
    state.SkipWithError(file.Describe().c_str());
    return;
  }
  auto mapping = Mapping::Map(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, file.value().fd(), 0);
  if (!mapping.ok()) {
    state.SkipWithError(mapping.Describe().c_str());
    return;
  }
  char* p = mapping.value().bytes();
  WriteEveryPage(p, length, 1);
  if (msync(p, length, MS_SYNC) != 0) {
    SkipWithErrno(state, "msync(MS_SYNC)");
    return;
  }
  state.SetLabel(FileSystemName(file.value().fd()));
  char value = 2;
  for (auto _ : state) {
    state.PauseTiming();
    // Spread the dirty pages over the mapping: every (pages/dirty)-th page.
    const size_t stride = dirty == 0 ? 0 : kMappingPages / dirty;
    for (size_t i = 0; i < dirty; ++i) p[i * stride * page] = value;
    ++value;
    state.ResumeTiming();
    if (msync(p, length, flags) != 0) {
      SkipWithErrno(state, "msync");
      break;
    }
  }
  SetPageCounters(state, static_cast<double>(state.iterations()) * static_cast<double>(dirty));
}

BENCHMARK_CAPTURE(Msync, sync, MS_SYNC)->Arg(0)->Arg(1)->Arg(16)->Arg(256)->Arg(1024)->UseRealTime();
BENCHMARK_CAPTURE(Msync, async, MS_ASYNC)->Arg(0)->Arg(1)->Arg(16)->Arg(256)->Arg(1024)->UseRealTime();

}  // namespace
}  // namespace shmconform::bench

SHMCONFORM_BENCH_MAIN()
