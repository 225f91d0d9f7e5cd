#include "fault_probe.h"

#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "shmconform/errno_names.h"

namespace shmconform::stress {
namespace {

sigjmp_buf g_probe_jmp;
volatile sig_atomic_t g_probing = 0;
volatile int g_fault_sig = 0, g_fault_code = 0;
volatile std::uintptr_t g_fault_addr = 0;
pid_t g_handlers_pid = 0;

void ProbeHandler(int sig, siginfo_t* info, void*) {
  if (!g_probing) {
    signal(sig, SIG_DFL);  // a real crash: let it happen again, unhandled
    return;
  }
  g_fault_sig = sig;
  g_fault_code = info->si_code;
  g_fault_addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  g_probing = 0;
  siglongjmp(g_probe_jmp, 1);
}

void EnsureProbeHandlers() {
  if (g_handlers_pid == getpid()) return;
  struct sigaction sa {};
  sa.sa_sigaction = ProbeHandler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
  g_handlers_pid = getpid();
}

// Runs `access` (one load or store) with the handlers armed: the fault it
// raised, if any. The handler jumps back while Probe's frame is still live.
template <typename Access>
Fault Probe(const Access& access) {
  EnsureProbeHandlers();
  g_fault_sig = 0;
  if (sigsetjmp(g_probe_jmp, 1) == 0) {
    g_probing = 1;
    access();
    g_probing = 0;
    return {};
  }
  return Fault{g_fault_sig, g_fault_code, g_fault_addr};
}

}  // namespace

Fault ProbeWrite(volatile char* addr, char value) {
  return Probe([&] { *addr = value; });
}

Fault ProbeRead(const volatile char* addr, char* value_out) {
  return Probe([&] { *value_out = *addr; });
}

std::string DescribeFault(const Fault& f) {
  if (!f.signal) return "no fault";
  char buf[64];
  std::snprintf(buf, sizeof buf, " at %#" PRIxPTR, f.address);
  return SignalName(f.signal) + "/" + SiCodeName(f.signal, f.si_code) + buf;
}

}  // namespace shmconform::stress
