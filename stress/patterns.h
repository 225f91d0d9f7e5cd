// Word patterns that tell every byte of a region from every other region's:
// word i of a region with tag t is PatternWord(t, i), never all-zero, so a
// page the kernel zeroed never passes for data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shmconform::stress {

std::uint64_t PatternWord(std::uint64_t tag, std::size_t word);
unsigned char PatternByte(std::uint64_t tag, std::size_t offset);
void FillPattern(void* mem, std::size_t bytes, std::uint64_t tag);
// The first mismatching byte offset, or -1.
long VerifyPattern(const void* mem, std::size_t bytes, std::uint64_t tag);
long VerifyZero(const void* mem, std::size_t bytes);

}  // namespace shmconform::stress
