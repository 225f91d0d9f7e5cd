// First-touch cost per page: a fresh mapping of each kind of memory, mapped
// and then touched once per page, in pages/s and time/page. The "_populate"
// variants map with MAP_POPULATE and then touch, so they time the prefault
// done by mmap itself. Creating the object before and unmapping/removing it
// after each iteration is not timed.
//
// Transparent huge pages are disabled for this process (PR_SET_THP_DISABLE):
// the figures are for base pages on every target, whatever its THP setting.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "shmconform/owners.h"
#include "shmconform/system_info.h"
#include "shmconform/unique_names.h"

namespace shmconform::bench {
namespace {

constexpr size_t kRegionBytes = 4 << 20;

enum class Kind {
  kSysvShm,          // shmget + shmat, written
  kPosixShm,         // shm_open + ftruncate + mmap MAP_SHARED, written
  kFileShared,       // regular file, MAP_SHARED, written (dirties the page cache)
  kFilePrivateRead,  // regular file, MAP_PRIVATE PROT_READ, read (page cache pages mapped)
  kFilePrivateCow,   // regular file, MAP_PRIVATE, written (a private copy per page)
  kAnonymous,        // MAP_PRIVATE|MAP_ANONYMOUS, written
};

bool IsFile(Kind kind) {
  return kind == Kind::kFileShared || kind == Kind::kFilePrivateRead || kind == Kind::kFilePrivateCow;
}

// A scratch file whose pages hold data (no holes) and sit in the page cache.
SysResult<TempFile> FilledFile(size_t length) {
  auto file = TempFile::Create();
  if (!file.ok()) return file;
  std::vector<char> block(1 << 16, 'x');
  for (size_t off = 0; off < length; off += block.size()) {
    if (pwrite(file.value().fd(), block.data(), block.size(), static_cast<off_t>(off)) !=
        static_cast<ssize_t>(block.size()))
      return SysResult<TempFile>::Error(errno, "pwrite(" + file.value().path() + ")");
  }
  return file;
}

void FirstTouch(benchmark::State& state, Kind kind, bool populate) {
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  const size_t length = kRegionBytes;
  const size_t pages = length / PageSize();
  TempFile file;
  if (IsFile(kind)) {
    auto filled = FilledFile(length);
    if (!filled.ok()) {
      state.SkipWithError(filled.Describe().c_str());
      return;
    }
    file = std::move(filled).take();
  }
  const std::string shm_name = UniqueShmName("fault");
  const int populate_flag = populate ? MAP_POPULATE : 0;
  const bool write = kind != Kind::kFilePrivateRead;
  const int prot = write ? PROT_READ | PROT_WRITE : PROT_READ;

  for (auto _ : state) {
    state.PauseTiming();
    SysvSegment segment;
    PosixShm shm;
    if (kind == Kind::kSysvShm) {
      auto created = SysvSegment::Create(IPC_PRIVATE, length, IPC_CREAT | 0600);
      if (!created.ok()) {
        state.SkipWithError(created.Describe().c_str());
        break;
      }
      segment = std::move(created).take();
    } else if (kind == Kind::kPosixShm) {
      auto opened = PosixShm::Open(shm_name, O_CREAT | O_EXCL | O_RDWR, 0600);
      if (!opened.ok()) {
        state.SkipWithError(opened.Describe().c_str());
        break;
      }
      shm = std::move(opened).take();
      if (ftruncate(shm.fd(), static_cast<off_t>(length)) != 0) {
        SkipWithErrno(state, "ftruncate");
        break;
      }
    }
    state.ResumeTiming();

    ShmAttachment attachment;
    Mapping mapping;
    char* p = nullptr;
    if (kind == Kind::kSysvShm) {
      auto attached = ShmAttachment::Attach(segment.id());
      if (!attached.ok()) {
        state.SkipWithError(attached.Describe().c_str());
        break;
      }
      attachment = std::move(attached).take();
      p = attachment.as<char>();
    } else {
      const int fd = kind == Kind::kPosixShm ? shm.fd() : IsFile(kind) ? file.fd() : -1;
      const int flags = (kind == Kind::kAnonymous                                          ? MAP_PRIVATE | MAP_ANONYMOUS
                         : kind == Kind::kFilePrivateRead || kind == Kind::kFilePrivateCow ? MAP_PRIVATE
                                                                                           : MAP_SHARED) |
                        populate_flag;
      auto mapped = Mapping::Map(nullptr, length, prot, flags, fd, 0);
      if (!mapped.ok()) {
        state.SkipWithError(mapped.Describe().c_str());
        break;
      }
      mapping = std::move(mapped).take();
      p = mapping.bytes();
    }
    if (write) {
      WriteEveryPage(p, length, 'y');
    } else {
      benchmark::DoNotOptimize(ReadEveryPage(p, length));
    }

    state.PauseTiming();
    attachment.reset();
    mapping.reset();
    segment.reset();
    shm.reset();
    state.ResumeTiming();
  }
  SetPageCounters(state, static_cast<double>(state.iterations()) * static_cast<double>(pages));
}

BENCHMARK_CAPTURE(FirstTouch, sysv_shm, Kind::kSysvShm, false);
BENCHMARK_CAPTURE(FirstTouch, posix_shm, Kind::kPosixShm, false);
BENCHMARK_CAPTURE(FirstTouch, posix_shm_populate, Kind::kPosixShm, true);
BENCHMARK_CAPTURE(FirstTouch, file_shared, Kind::kFileShared, false);
BENCHMARK_CAPTURE(FirstTouch, file_shared_populate, Kind::kFileShared, true);
BENCHMARK_CAPTURE(FirstTouch, file_private_read, Kind::kFilePrivateRead, false);
BENCHMARK_CAPTURE(FirstTouch, file_private_read_populate, Kind::kFilePrivateRead, true);
BENCHMARK_CAPTURE(FirstTouch, file_private_cow, Kind::kFilePrivateCow, false);
BENCHMARK_CAPTURE(FirstTouch, file_private_cow_populate, Kind::kFilePrivateCow, true);
BENCHMARK_CAPTURE(FirstTouch, anonymous, Kind::kAnonymous, false);
BENCHMARK_CAPTURE(FirstTouch, anonymous_populate, Kind::kAnonymous, true);

}  // namespace
}  // namespace shmconform::bench

SHMCONFORM_BENCH_MAIN()
