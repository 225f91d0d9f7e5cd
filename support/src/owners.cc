#include "shmconform/owners.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "shmconform/errno_names.h"
#include "shmconform/unique_names.h"

namespace shmconform {
namespace {

// An owner's own removal failed in a way no test causes on purpose: a leak,
// or a bug in the test. Removal the test already did itself (the errno in
// `already_gone`) stays quiet.
void CheckRemoval(int rv, const std::string& what, int already_gone = 0) {
  if (rv == 0) return;
  const int err = errno;
  if (err == already_gone) return;
  ADD_FAILURE() << what << " by its owner failed: " << DescribeErrno(err);
}

}  // namespace

Cleanup& Cleanup::operator=(Cleanup&& other) noexcept {
  if (this != &other) {
    Run();
    fn_ = std::exchange(other.fn_, nullptr);
  }
  return *this;
}

void Cleanup::Run() {
  if (auto fn = std::exchange(fn_, nullptr)) fn();
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  // EINTR: Linux has closed the descriptor anyway.
  if (fd_ >= 0) CheckRemoval(close(fd_), "close(" + std::to_string(fd_) + ")", EINTR);
  fd_ = fd;
}

SysResult<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return SysResult<UniqueFd>::Error(errno, "open(" + path + ")");
  return SysResult<UniqueFd>::Ok(UniqueFd(fd));
}

SysResult<SysvSegment> SysvSegment::Create(key_t key, size_t size, int shmflg) {
  const int id = shmget(key, size, shmflg);
  if (id < 0) {
    char what[96];
    std::snprintf(what, sizeof what, "shmget(%#x, %zu, %#o)", static_cast<unsigned>(key), size,
                  static_cast<unsigned>(shmflg));
    return SysResult<SysvSegment>::Error(errno, what);
  }
  return SysResult<SysvSegment>::Ok(SysvSegment(id));
}

SysvSegment& SysvSegment::operator=(SysvSegment&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void SysvSegment::reset(int id) {
  // EINVAL (EIDRM on old kernels): a test already removed it, which is fine.
  if (id_ >= 0 && shmctl(id_, IPC_RMID, nullptr) != 0 && errno != EIDRM)
    CheckRemoval(-1, "shmctl(" + std::to_string(id_) + ", IPC_RMID)", EINVAL);
  id_ = id;
}

SysResult<ShmAttachment> ShmAttachment::Attach(int shmid, const void* addr, int shmflg) {
  void* p = shmat(shmid, addr, shmflg);
  if (p == reinterpret_cast<void*>(-1)) {
    char what[96];
    std::snprintf(what, sizeof what, "shmat(%d, %p, %#x)", shmid, addr, static_cast<unsigned>(shmflg));
    return SysResult<ShmAttachment>::Error(errno, what);
  }
  return SysResult<ShmAttachment>::Ok(ShmAttachment(p));
}

ShmAttachment& ShmAttachment::operator=(ShmAttachment&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void ShmAttachment::reset(void* addr) {
  // EINVAL: a test already detached it.
  if (addr_) CheckRemoval(shmdt(addr_), "shmdt", EINVAL);
  addr_ = addr;
}

SysResult<Mapping> Mapping::Map(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  void* p = mmap(addr, length, prot, flags, fd, offset);
  if (p == MAP_FAILED) {
    char what[128];
    std::snprintf(what, sizeof what, "mmap(%p, %zu, %#x, %#x, %d, %lld)", addr, length, static_cast<unsigned>(prot),
                  static_cast<unsigned>(flags), fd, static_cast<long long>(offset));
    return SysResult<Mapping>::Error(errno, what);
  }
  return SysResult<Mapping>::Ok(Mapping(p, length));
}

SysResult<Mapping> Mapping::Anonymous(size_t length, int prot, int flags) {
  return Map(nullptr, length, prot, flags | MAP_ANONYMOUS, -1, 0);
}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    reset();
    addr_ = std::exchange(other.addr_, nullptr);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

void* Mapping::release() {
  length_ = 0;
  return std::exchange(addr_, nullptr);
}

void Mapping::reset() {
  if (addr_) CheckRemoval(munmap(addr_, length_), "munmap(" + std::to_string(length_) + " bytes)");
  addr_ = nullptr;
  length_ = 0;
}

SysResult<PosixShm> PosixShm::Open(const std::string& name, int oflag, mode_t mode) {
  const int fd = shm_open(name.c_str(), oflag, mode);
  if (fd < 0) return SysResult<PosixShm>::Error(errno, "shm_open(" + name + ")");
  return SysResult<PosixShm>::Ok(PosixShm(name, UniqueFd(fd)));
}

PosixShm& PosixShm::operator=(PosixShm&& other) noexcept {
  if (this != &other) {
    reset();
    name_ = std::exchange(other.name_, {});
    fd_ = std::move(other.fd_);
  }
  return *this;
}

void PosixShm::reset() {
  // ENOENT: the test unlinked it itself.
  if (!name_.empty()) CheckRemoval(shm_unlink(name_.c_str()), "shm_unlink(" + name_ + ")", ENOENT);
  name_.clear();
  fd_.reset();
}

SysResult<std::string> RunScratchDir() {
  static std::string dir;
  if (!dir.empty()) return SysResult<std::string>::Ok(dir);
  const char* base = std::getenv("SHMCONFORM_TMPDIR");
  if (!base || !*base) base = std::getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  std::string path = std::string(base) + "/shmconform." + RunId();
  const bool made_here = mkdir(path.c_str(), 0700) == 0;
  if (!made_here && errno != EEXIST) return SysResult<std::string>::Error(errno, "mkdir(" + path + ")");
  // The scratch directory goes when the process that made it exits. Forked
  // children inherit the path but not the duty, and an exec'ed scenario that
  // found it already there (the harness sets one run id for every process)
  // must leave it to its maker, which may still be using it.
  if (made_here) {
    static const pid_t owner = getpid();
    static const std::string to_remove = path;
    std::atexit([] {
      if (getpid() == owner) rmdir(to_remove.c_str());
    });
  }
  dir = path;
  return SysResult<std::string>::Ok(dir);
}

SysResult<TempDir> TempDir::Create() {
  auto scratch = RunScratchDir();
  if (!scratch.ok()) return SysResult<TempDir>::Error(scratch.error(), scratch.what());
  std::string templ = scratch.value() + "/dir.XXXXXX";
  if (!mkdtemp(templ.data())) return SysResult<TempDir>::Error(errno, "mkdtemp(" + templ + ")");
  return SysResult<TempDir>::Ok(TempDir(templ));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void TempDir::reset() {
  if (!path_.empty()) RemoveTree(path_);
  path_.clear();
}

SysResult<TempFile> TempFile::Create(off_t size) {
  auto scratch = RunScratchDir();
  if (!scratch.ok()) return SysResult<TempFile>::Error(scratch.error(), scratch.what());
  std::string templ = scratch.value() + "/file.XXXXXX";
  const int fd = mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) return SysResult<TempFile>::Error(errno, "mkostemp(" + templ + ")");
  TempFile file(templ, UniqueFd(fd));
  if (size > 0 && ftruncate(fd, size) != 0) return SysResult<TempFile>::Error(errno, "ftruncate(" + templ + ")");
  return SysResult<TempFile>::Ok(std::move(file));
}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::exchange(other.path_, {});
    fd_ = std::move(other.fd_);
  }
  return *this;
}

void TempFile::reset() {
  // ENOENT: the test removed it itself.
  if (!path_.empty()) CheckRemoval(unlink(path_.c_str()), "unlink(" + path_ + ")", ENOENT);
  path_.clear();
  fd_.reset();
}

void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int type, struct FTW*) {
        CheckRemoval(type == FTW_DP ? rmdir(p) : unlink(p), std::string("removing ") + p, ENOENT);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace shmconform
