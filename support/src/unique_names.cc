#include "shmconform/unique_names.h"

#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace shmconform {
namespace {

std::uint32_t Random32() {
  std::uint32_t value = 0;
  if (getrandom(&value, sizeof value, 0) != sizeof value) {
    // No getrandom (very old kernel or a sandbox without it): fall back to
    // something that still differs between processes and calls.
    static std::atomic<std::uint32_t> mix{0x9e3779b9u};
    value = mix.fetch_add(0x7f4a7c15u) ^ (static_cast<std::uint32_t>(getpid()) * 2654435761u) ^
            static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&value));
  }
  return value;
}

std::atomic<unsigned> g_name_counter{0};

}  // namespace

const std::string& RunId() {
  static const std::string id = [] {
    if (const char* env = std::getenv("SHMCONFORM_RUN_ID"); env && *env) return std::string(env);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", Random32());
    return std::string(buf);
  }();
  return id;
}

key_t UniqueIpcKey() {
  for (;;) {
    const std::uint32_t low = Random32() & 0x00ffffffu;
    const key_t key = static_cast<key_t>((kKeyMarker << 24) | low);
    if (key == IPC_PRIVATE) continue;
    // Only a key that names nothing right now will do.
    if (shmget(key, 0, 0) == -1 && errno == ENOENT) return key;
  }
}

std::string UniqueShmName(std::string_view tag) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "/shmconform.%s.%d.%u.", RunId().c_str(), static_cast<int>(getpid()),
                g_name_counter.fetch_add(1));
  std::string name(buf);
  name.append(tag.substr(0, 64));
  return name;
}

}  // namespace shmconform
