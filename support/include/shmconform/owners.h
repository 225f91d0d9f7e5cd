// RAII owners: every object a test creates releases itself, even when the
// test fails halfway. Factories return SysResult so a test unwraps them with
// ASSERT_NO_ERRNO_AND_VALUE and gets the errno's name on failure.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "shmconform/result.h"

namespace shmconform {

// Runs a function at scope exit.
class Cleanup {
 public:
  Cleanup() = default;
  explicit Cleanup(std::function<void()> fn) : fn_(std::move(fn)) {}
  Cleanup(Cleanup&& other) noexcept : fn_(std::exchange(other.fn_, nullptr)) {}
  Cleanup& operator=(Cleanup&& other) noexcept;
  ~Cleanup() { Run(); }
  void Run();

 private:
  std::function<void()> fn_;
};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

SysResult<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);

// A System V segment, removed with IPC_RMID when the owner goes away.
// (A segment still attached is then destroyed on its last detach.)
class SysvSegment {
 public:
  static SysResult<SysvSegment> Create(key_t key, size_t size, int shmflg);
  SysvSegment() = default;
  explicit SysvSegment(int id) : id_(id) {}
  SysvSegment(SysvSegment&& other) noexcept : id_(std::exchange(other.id_, -1)) {}
  SysvSegment& operator=(SysvSegment&& other) noexcept;
  ~SysvSegment() { reset(); }
  int id() const { return id_; }
  int release() { return std::exchange(id_, -1); }
  void reset(int id = -1);

 private:
  int id_ = -1;
};

// One shmat attachment, detached with shmdt when the owner goes away.
class ShmAttachment {
 public:
  static SysResult<ShmAttachment> Attach(int shmid, const void* addr = nullptr, int shmflg = 0);
  ShmAttachment() = default;
  explicit ShmAttachment(void* addr) : addr_(addr) {}
  ShmAttachment(ShmAttachment&& other) noexcept : addr_(std::exchange(other.addr_, nullptr)) {}
  ShmAttachment& operator=(ShmAttachment&& other) noexcept;
  ~ShmAttachment() { reset(); }
  void* get() const { return addr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(addr_);
  }
  void* release() { return std::exchange(addr_, nullptr); }
  void reset(void* addr = nullptr);

 private:
  void* addr_ = nullptr;
};

// One mmap'd range, unmapped when the owner goes away.
class Mapping {
 public:
  static SysResult<Mapping> Map(void* addr, size_t length, int prot, int flags, int fd, off_t offset);
  // Anonymous private read-write memory, the common scratch case.
  static SysResult<Mapping> Anonymous(size_t length, int prot, int flags);
  Mapping() = default;
  Mapping(void* addr, size_t length) : addr_(addr), length_(length) {}
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), length_(std::exchange(other.length_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept;
  ~Mapping() { reset(); }
  void* get() const { return addr_; }
  char* bytes() const { return static_cast<char*>(addr_); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(addr_);
  }
  size_t length() const { return length_; }
  uintptr_t addr() const { return reinterpret_cast<uintptr_t>(addr_); }
  void* release();
  void reset();

 private:
  void* addr_ = nullptr;
  size_t length_ = 0;
};

// A POSIX shm object opened with shm_open, closed and unlinked on destruction.
class PosixShm {
 public:
  static SysResult<PosixShm> Open(const std::string& name, int oflag, mode_t mode);
  PosixShm() = default;
  PosixShm(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
  PosixShm(PosixShm&& other) noexcept : name_(std::exchange(other.name_, {})), fd_(std::move(other.fd_)) {}
  PosixShm& operator=(PosixShm&& other) noexcept;
  ~PosixShm() { reset(); }
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  void reset();

 private:
  std::string name_;
  UniqueFd fd_;
};

// The per-run scratch directory: $SHMCONFORM_TMPDIR, else $TMPDIR, else /tmp,
// plus "shmconform.<run id>". Created on first use.
SysResult<std::string> RunScratchDir();

// A fresh directory under the run's scratch directory, removed recursively.
class TempDir {
 public:
  static SysResult<TempDir> Create();
  TempDir() = default;
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir& operator=(TempDir&& other) noexcept;
  ~TempDir() { reset(); }
  const std::string& path() const { return path_; }
  void reset();

 private:
  std::string path_;
};

// A fresh file (open read-write) under the run's scratch directory, unlinked
// and closed on destruction. `size` bytes are allocated with ftruncate.
class TempFile {
 public:
  static SysResult<TempFile> Create(off_t size = 0);
  TempFile() = default;
  TempFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  TempFile(TempFile&& other) noexcept : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)) {}
  TempFile& operator=(TempFile&& other) noexcept;
  ~TempFile() { reset(); }
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  void reset();

 private:
  std::string path_;
  UniqueFd fd_;
};

// Removes a directory tree; used by TempDir and the run scratch cleanup.
void RemoveTree(const std::string& path);

}  // namespace shmconform
