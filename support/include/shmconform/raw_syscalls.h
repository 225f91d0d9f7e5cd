// The kernel's system calls without the C library in between.
//
// glibc checks some arguments itself before the system call (mmap's offset
// alignment), adds bits (IPC_64 on architectures whose shmctl parses a
// version), and on 32-bit targets with 64-bit time_t converts structures
// (shmctl). A test that runs once through libc and once through these raw
// calls ("variant" libc|raw) shows which of the two a result comes from.
#pragma once

#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <asm/shmbuf.h>  // the kernel's struct shmid64_ds (not glibc's shmid_ds)

#include <cerrno>
#include <cstdint>
#include <ostream>
#include <string>

namespace shmconform {

// Which path a call takes; tests record it as the gtest property "variant".
enum class CallVariant { kLibc, kRaw };
inline const char* VariantName(CallVariant v) { return v == CallVariant::kLibc ? "libc" : "raw"; }
inline void PrintTo(CallVariant v, std::ostream* os) { *os << VariantName(v); }
// For INSTANTIATE_TEST_SUITE_P(..., ::testing::Values(kLibc, kRaw), VariantParamName).
template <typename Info>
std::string VariantParamName(const Info& info) {
  return VariantName(info.param);
}

namespace raw {

// mmap as the kernel takes it: mmap(2) on 64-bit targets, mmap2(2) on 32-bit
// ones, whose offset is in 4096-byte units (an offset that is not a multiple
// of 4096, or beyond 4096 * ULONG_MAX, cannot be passed at all:
// *representable is set to false).
inline void* Mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset, bool* representable = nullptr) {
  if (representable) *representable = true;
#if defined(SYS_mmap2)
  if (offset % 4096 != 0 || static_cast<unsigned long long>(offset / 4096) > static_cast<unsigned long long>(~0UL)) {
    if (representable) *representable = false;
    errno = EINVAL;
    return MAP_FAILED;
  }
  return reinterpret_cast<void*>(syscall(SYS_mmap2, addr, length, prot, flags, fd, static_cast<long>(offset / 4096)));
#else
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, length, prot, flags, fd, offset));
#endif
}
inline int Munmap(void* addr, size_t length) { return static_cast<int>(syscall(SYS_munmap, addr, length)); }
inline int Mprotect(void* addr, size_t length, int prot) {
  return static_cast<int>(syscall(SYS_mprotect, addr, length, prot));
}
inline int Msync(void* addr, size_t length, int flags) {
  return static_cast<int>(syscall(SYS_msync, addr, length, flags));
}
inline int Madvise(void* addr, size_t length, int advice) {
  return static_cast<int>(syscall(SYS_madvise, addr, length, advice));
}
inline void* Mremap(void* old_address, size_t old_size, size_t new_size, int flags, void* new_address = nullptr) {
  return reinterpret_cast<void*>(syscall(SYS_mremap, old_address, old_size, new_size, flags, new_address));
}
inline int MemfdCreate(const char* name, unsigned flags) {
  return static_cast<int>(syscall(SYS_memfd_create, name, flags));
}

// The flag the kernel's shmctl wants for the 64-bit structure layout where it
// parses a version from cmd (arm, i386); elsewhere cmd carries no version and
// this bit would make it an unknown command.
#if defined(__arm__) || defined(__i386__)
inline constexpr int kIpc64 = 0x100;
#else
inline constexpr int kIpc64 = 0;
#endif

inline int Shmget(key_t key, size_t size, int shmflg) {
  return static_cast<int>(syscall(SYS_shmget, key, size, shmflg));
}
inline void* Shmat(int shmid, const void* addr, int shmflg) {
  return reinterpret_cast<void*>(syscall(SYS_shmat, shmid, addr, shmflg));
}
inline int Shmdt(const void* addr) { return static_cast<int>(syscall(SYS_shmdt, addr)); }
// `cmd` as the caller means it; kIpc64 is added here.
inline int Shmctl(int shmid, int cmd, struct shmid64_ds* buf) {
  return static_cast<int>(syscall(SYS_shmctl, shmid, cmd | kIpc64, buf));
}

// A 32-bit kernel splits each time into a low and a high word.
inline std::int64_t AtimeOf(const struct shmid64_ds& ds) {
#if defined(__LP64__)
  return ds.shm_atime;
#else
  return static_cast<std::int64_t>(ds.shm_atime | (static_cast<std::uint64_t>(ds.shm_atime_high) << 32));
#endif
}
inline std::int64_t DtimeOf(const struct shmid64_ds& ds) {
#if defined(__LP64__)
  return ds.shm_dtime;
#else
  return static_cast<std::int64_t>(ds.shm_dtime | (static_cast<std::uint64_t>(ds.shm_dtime_high) << 32));
#endif
}
inline std::int64_t CtimeOf(const struct shmid64_ds& ds) {
#if defined(__LP64__)
  return ds.shm_ctime;
#else
  return static_cast<std::int64_t>(ds.shm_ctime | (static_cast<std::uint64_t>(ds.shm_ctime_high) << 32));
#endif
}

}  // namespace raw
}  // namespace shmconform
