// Touches one byte and reports the fault it raised: 0 when none, else the
// signal, with si_code and address. Handlers are per process (installed on
// first use); safe in workers and their children.
#pragma once

#include <cstdint>
#include <string>

namespace shmconform::stress {

struct Fault {
  int signal = 0;
  int si_code = 0;
  std::uintptr_t address = 0;
};
Fault ProbeWrite(volatile char* addr, char value);
Fault ProbeRead(const volatile char* addr, char* value_out);
// "no fault", or "SIGBUS/BUS_ADRERR at 0x...".
std::string DescribeFault(const Fault& f);

}  // namespace shmconform::stress
