// Text built without allocation, locks or stdio, for code that runs in a
// forked child of a threaded process or in a signal handler: CHILD_CHECK
// reports, sysctl and id-map writes, /proc row matching.
#pragma once

#include <string.h>
#include <cstddef>
#include <cstring>

namespace shmconform {

class AsyncSafeText {
 public:
  static constexpr size_t kCapacity = 256;

  AsyncSafeText() { text_[0] = '\0'; }
  explicit AsyncSafeText(const char* s) : AsyncSafeText() { Append(s); }

  // Appends as much as fits; the text stays NUL-terminated.
  AsyncSafeText& Append(const char* s) {
    while (s && *s && size_ + 1 < kCapacity) text_[size_++] = *s++;
    text_[size_] = '\0';
    return *this;
  }
  AsyncSafeText& AppendUnsigned(unsigned long long value) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value);
    char reversed[24];
    for (int i = 0; i < n; ++i) reversed[i] = digits[n - 1 - i];
    reversed[n] = '\0';
    return Append(reversed);
  }
  AsyncSafeText& AppendDecimal(long long value) {
    if (value < 0) Append("-");
    return AppendUnsigned(value < 0 ? 0ull - static_cast<unsigned long long>(value)
                                    : static_cast<unsigned long long>(value));
  }
  // "EACCES"; "errno 4242" when the C library has no name for it.
  AsyncSafeText& AppendErrnoName(int err) {
    if (const char* name = strerrorname_np(err)) return Append(name);
    return Append("errno ").AppendDecimal(err);
  }

  const char* c_str() const { return text_; }
  size_t size() const { return size_; }

 private:
  char text_[kCapacity];
  size_t size_ = 0;
};

}  // namespace shmconform
