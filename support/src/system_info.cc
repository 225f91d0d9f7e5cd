#include "shmconform/system_info.h"

#include <sys/shm.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace shmconform {

size_t PageSize() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

size_t Shmlba() { return static_cast<size_t>(SHMLBA); }

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::optional<std::uint64_t> ReadProcNumber(const std::string& path) {
  const auto text = ReadFile(path);
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  if (std::sscanf(text->c_str(), "%" SCNu64, &value) != 1) return std::nullopt;
  return value;
}

std::optional<std::vector<ProcShmEntry>> ReadProcSysvipcShm() {
  const auto text = ReadFile("/proc/sysvipc/shm");
  if (!text) return std::nullopt;
  std::vector<ProcShmEntry> entries;
  std::istringstream lines(*text);
  std::string line;
  std::getline(lines, line);  // column headings
  while (std::getline(lines, line)) {
    ProcShmEntry e;
    long long key = 0, atime = 0, dtime = 0, ctime = 0;
    unsigned long long size = 0, nattch = 0;
    int cpid = 0, lpid = 0;
    unsigned uid = 0, gid = 0, cuid = 0, cgid = 0;
    // key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime [rss swap]
    if (std::sscanf(line.c_str(), "%lld %d %o %llu %d %d %llu %u %u %u %u %lld %lld %lld", &key, &e.shmid, &e.perms,
                    &size, &cpid, &lpid, &nattch, &uid, &gid, &cuid, &cgid, &atime, &dtime, &ctime) != 14)
      continue;
    e.key = static_cast<key_t>(key);
    e.size = size;
    e.cpid = cpid;
    e.lpid = lpid;
    e.nattch = nattch;
    e.uid = uid;
    e.gid = gid;
    e.cuid = cuid;
    e.cgid = cgid;
    e.atime = atime;
    e.dtime = dtime;
    e.ctime = ctime;
    entries.push_back(e);
  }
  return entries;
}

std::optional<ProcShmEntry> FindProcShmEntry(int shmid) {
  const auto entries = ReadProcSysvipcShm();
  if (!entries) return std::nullopt;
  for (const auto& e : *entries)
    if (e.shmid == shmid) return e;
  return std::nullopt;
}

std::optional<MapsEntry> FindMapsEntry(const void* addr) {
  const auto text = ReadFile("/proc/self/maps");
  if (!text) return std::nullopt;
  const auto target = reinterpret_cast<std::uintptr_t>(addr);
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    unsigned long start = 0, end = 0;
    char perms[8] = {};
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %*s %*s %*s%n", &start, &end, perms, &consumed) < 3) continue;
    if (target < start || target >= end) continue;
    MapsEntry entry{start, end, perms, ""};
    if (consumed > 0 && static_cast<size_t>(consumed) < line.size()) {
      const auto first = line.find_first_not_of(' ', consumed);
      if (first != std::string::npos) entry.path = line.substr(first);
    }
    return entry;
  }
  return std::nullopt;
}

}  // namespace shmconform

#include <sys/mman.h>

namespace shmconform {

void* FindUnmappedRange(size_t length, size_t alignment) {
  const size_t hole = length + alignment;
  void* p = mmap(nullptr, hole, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  munmap(p, hole);
  const auto base = reinterpret_cast<std::uintptr_t>(p);
  return reinterpret_cast<void*>((base + alignment - 1) / alignment * alignment);
}

}  // namespace shmconform
