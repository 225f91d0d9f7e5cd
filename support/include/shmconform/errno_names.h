// Names for errno values, signals and si_codes, so failure messages say
// "EACCES" and "SEGV_ACCERR" instead of bare numbers.
#pragma once

#include <string>

namespace shmconform {

// "EACCES"; "errno 4242" for a value the C library does not know.
std::string ErrnoName(int err);
// "EACCES (Permission denied)".
std::string DescribeErrno(int err);
// "SIGSEGV"; "signal 77" when unknown.
std::string SignalName(int sig);
// The si_code's name in the context of its signal: "SEGV_MAPERR", "BUS_ADRERR",
// "SI_USER". Codes above 0 are signal-specific, so the signal is needed.
std::string SiCodeName(int sig, int si_code);

}  // namespace shmconform
