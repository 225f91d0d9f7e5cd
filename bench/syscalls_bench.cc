// The cost of the shared-memory system calls themselves: creating, attaching,
// detaching and removing segments and mappings. Nothing here touches the
// memory, so sizes up to 1 GiB allocate nothing.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "shmconform/owners.h"
#include "shmconform/system_info.h"
#include "shmconform/unique_names.h"

namespace shmconform::bench {
namespace {

// shmget -> shmat -> shmdt -> IPC_RMID on a one-page segment.
void SysvFullCycle(benchmark::State& state) {
  const key_t key = UniqueIpcKey();
  const size_t size = PageSize();
  for (auto _ : state) {
    auto segment = SysvSegment::Create(key, size, IPC_CREAT | IPC_EXCL | 0600);
    if (!segment.ok()) {
      state.SkipWithError(segment.Describe().c_str());
      break;
    }
    auto attachment = ShmAttachment::Attach(segment.value().id());
    if (!attachment.ok()) {
      state.SkipWithError(attachment.Describe().c_str());
      break;
    }
    if (shmdt(attachment.value().release()) != 0) {
      SkipWithErrno(state, "shmdt");
      break;
    }
    if (shmctl(segment.value().release(), IPC_RMID, nullptr) != 0) {
      SkipWithErrno(state, "shmctl(IPC_RMID)");
      break;
    }
  }
}
BENCHMARK(SysvFullCycle);

// shmat + shmdt of an existing, never touched segment, by segment size.
void SysvAttachDetach(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto segment = SysvSegment::Create(IPC_PRIVATE, size, IPC_CREAT | 0600);
  if (!segment.ok()) {
    // A small shmmax or memory limit on this target: say so, do not fail.
    state.SkipWithError(segment.Describe().c_str());
    return;
  }
  const int id = segment.value().id();
  for (auto _ : state) {
    void* addr = shmat(id, nullptr, 0);
    if (addr == reinterpret_cast<void*>(-1)) {
      SkipWithErrno(state, "shmat");
      break;
    }
    if (shmdt(addr) != 0) {
      SkipWithErrno(state, "shmdt");
      break;
    }
  }
}
BENCHMARK(SysvAttachDetach)->RangeMultiplier(8)->Range(4 << 10, 1 << 30);

// shm_open(O_CREAT|O_EXCL) + ftruncate + mmap + munmap + close + shm_unlink.
void PosixShmCycle(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::string name = UniqueShmName("bench");
  for (auto _ : state) {
    auto shm = PosixShm::Open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (!shm.ok()) {
      state.SkipWithError(shm.Describe().c_str());
      break;
    }
    if (ftruncate(shm.value().fd(), static_cast<off_t>(size)) != 0) {
      SkipWithErrno(state, "ftruncate");
      break;
    }
    auto mapping = Mapping::Map(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, shm.value().fd(), 0);
    if (!mapping.ok()) {
      state.SkipWithError(mapping.Describe().c_str());
      break;
    }
    mapping.value().reset();
    shm.value().reset();  // close + shm_unlink
  }
}
BENCHMARK(PosixShmCycle)->Arg(4 << 10)->Arg(1 << 20);

// The timed loop of the mmap benchmarks: mmap(size, flags, fd) + munmap.
void MapAndUnmap(benchmark::State& state, size_t size, int flags, int fd) {
  for (auto _ : state) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p == MAP_FAILED) {
      SkipWithErrno(state, "mmap");
      break;
    }
    if (munmap(p, size) != 0) {
      SkipWithErrno(state, "munmap");
      break;
    }
  }
}

// mmap + munmap of a regular file, shared, not touched.
void MmapMunmapFile(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto file = TempFile::Create(static_cast<off_t>(size));
  if (!file.ok()) {
    state.SkipWithError(file.Describe().c_str());
    return;
  }
  MapAndUnmap(state, size, MAP_SHARED, file.value().fd());
}
BENCHMARK(MmapMunmapFile)->Arg(4 << 10)->Arg(1 << 20)->Arg(1 << 30);

// mmap + munmap of private anonymous memory, not touched.
void MmapMunmapAnonymous(benchmark::State& state) {
  MapAndUnmap(state, static_cast<size_t>(state.range(0)), MAP_PRIVATE | MAP_ANONYMOUS, -1);
}
BENCHMARK(MmapMunmapAnonymous)->Arg(4 << 10)->Arg(1 << 20)->Arg(1 << 30);

}  // namespace
}  // namespace shmconform::bench

SHMCONFORM_BENCH_MAIN()
