#include "run_state.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace shmconform::stress {
namespace {
const char* g_binary = "stress";
}  // namespace

const char* BinaryName() { return g_binary; }

void SetBinaryName(const char* scenario) {
  static std::string binary;
  binary = std::string("stress-") + scenario;
  g_binary = binary.c_str();
}

void RecordViolation(SharedState* s, const char* text) {
  s->violations.fetch_add(1);
  const std::uint32_t slot = s->messages_used.fetch_add(1);
  if (slot < kMaxMessages) {
    std::strncpy(s->messages[slot], text, kMessageLen - 1);
    s->messages[slot][kMessageLen - 1] = '\0';
  }
  s->stop.store(1);
  const std::size_t len = std::strlen(text);
  [[maybe_unused]] ssize_t ignored = write(2, text, len);
  ignored = write(2, "\n", 1);
}

void ResetChildSignals() {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace shmconform::stress
