#include "patterns.h"

#include <cstring>

namespace shmconform::stress {

std::uint64_t PatternWord(std::uint64_t tag, std::size_t word) {
  return (tag ^ (static_cast<std::uint64_t>(word) * 0x9e3779b97f4a7c15ull)) | 1;  // never all-zero
}

unsigned char PatternByte(std::uint64_t tag, std::size_t offset) {
  const std::uint64_t w = PatternWord(tag, offset / 8);
  unsigned char b[8];
  std::memcpy(b, &w, 8);
  return b[offset % 8];
}

void FillPattern(void* mem, std::size_t bytes, std::uint64_t tag) {
  auto* p = static_cast<unsigned char*>(mem);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t w = PatternWord(tag, i);
    std::memcpy(p + i * 8, &w, 8);
  }
  for (std::size_t off = words * 8; off < bytes; ++off) p[off] = PatternByte(tag, off);
}

long VerifyPattern(const void* mem, std::size_t bytes, std::uint64_t tag) {
  const auto* p = static_cast<const unsigned char*>(mem);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, p + i * 8, 8);
    if (w != PatternWord(tag, i)) {
      for (std::size_t off = i * 8;; ++off)
        if (p[off] != PatternByte(tag, off)) return static_cast<long>(off);
    }
  }
  for (std::size_t off = words * 8; off < bytes; ++off)
    if (p[off] != PatternByte(tag, off)) return static_cast<long>(off);
  return -1;
}

long VerifyZero(const void* mem, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(mem);
  for (std::size_t i = 0; i < bytes; ++i)
    if (p[i]) return static_cast<long>(i);
  return -1;
}

}  // namespace shmconform::stress
