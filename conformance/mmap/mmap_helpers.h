// Small helpers shared by the mmap-family tests (files, contents, reserved
// address ranges). Everything else comes from the support library.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include "shmconform/shmconform.h"

namespace shmconform {

// A temporary file of `size` bytes (zeros) holding `text` at offset 0.
inline SysResult<TempFile> FileHolding(const std::string& text, off_t size) {
  auto file = TempFile::Create(size);
  if (file.ok() && pwrite(file.value().fd(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    return SysResult<TempFile>::Error(errno, "pwrite");
  return file;
}

// `n` bytes of the file at `offset`, read with pread on the given fd (the
// bytes actually read: shorter at end of file).
inline std::string PreadString(int fd, size_t n, off_t offset = 0) {
  std::string buf(n, '\0');
  const ssize_t got = pread(fd, buf.data(), n, offset);
  buf.resize(got < 0 ? 0 : static_cast<size_t>(got));
  return buf;
}

// The file's contents read through a second, independent open file
// description: nothing is shared with the fd a mapping was made from.
inline std::string ReadThroughNewFd(const std::string& path, size_t n, off_t offset = 0) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<open failed: " + ErrnoName(errno) + ">";
  std::string s = PreadString(fd, n, offset);
  close(fd);
  return s;
}

inline off_t FileSize(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_size : -1;
}

// How many of the n bytes at p are not zero (0 for a zero-filled range);
// a count keeps failure messages short where a whole page would be printed.
inline size_t NonZeroBytes(const char* p, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += p[i] != 0;
  return count;
}

// True when `addr` is mapped (msync fails with ENOMEM on unmapped pages).
inline bool IsMapped(const void* addr) { return msync(const_cast<void*>(addr), PageSize(), MS_ASYNC) == 0; }

// An address range of `pages` pages that is reserved (PROT_NONE) and owned by
// the returned Mapping; tests place MAP_FIXED mappings inside it, so nothing
// else in the process can be hit.
inline SysResult<Mapping> Reserve(size_t pages) {
  return Mapping::Anonymous(pages * PageSize(), PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
}

// The value of a "Name: value" line of the /proc/self/smaps block for the
// mapping that starts at `start` (text after the colon); nullopt when absent
// (no /proc, field unknown, no such mapping).
inline std::optional<std::string> SmapsLine(const void* start, const std::string& name) {
  const auto smaps = ReadFile("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  char head[32];
  std::snprintf(head, sizeof head, "%lx-", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(start)));
  std::istringstream in(*smaps);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) {
      if (inside) return line.substr(name.size() + 1);
      continue;
    }
    const size_t dash = line.find('-'), space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space && line.find(':') > space)
      inside = line.rfind(head, 0) == 0;  // a header line: "start-end perms ..."
  }
  return std::nullopt;
}

// A "Name:   N kB" field of the mapping's smaps block, in kB.
inline std::optional<long> SmapsField(const void* start, const std::string& name) {
  const auto value = SmapsLine(start, name);
  if (!value) return std::nullopt;
  return std::stol(*value);
}

}  // namespace shmconform
