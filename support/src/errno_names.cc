#include "shmconform/errno_names.h"

#include <signal.h>
#include <string.h>

#include <cstring>
#include <string>

namespace shmconform {

std::string ErrnoName(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return "errno " + std::to_string(err);
}

std::string DescribeErrno(int err) {
  if (err == 0) return "no error (errno 0)";
  return ErrnoName(err) + " (" + strerror(err) + ")";
}

std::string SignalName(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

namespace {

struct CodeName {
  int code;
  const char* name;
};

// Codes that any signal may carry (si_code <= 0: sent by a process).
constexpr CodeName kGenericCodes[] = {
    {SI_USER, "SI_USER"},   {SI_KERNEL, "SI_KERNEL"},   {SI_QUEUE, "SI_QUEUE"}, {SI_TIMER, "SI_TIMER"},
    {SI_MESGQ, "SI_MESGQ"}, {SI_ASYNCIO, "SI_ASYNCIO"}, {SI_SIGIO, "SI_SIGIO"}, {SI_TKILL, "SI_TKILL"},
};
constexpr CodeName kSegvCodes[] = {
    {SEGV_MAPERR, "SEGV_MAPERR"}, {SEGV_ACCERR, "SEGV_ACCERR"}, {3, "SEGV_BNDERR"},  {4, "SEGV_PKUERR"},
    {5, "SEGV_ACCADI"},           {6, "SEGV_ADIDERR"},          {7, "SEGV_ADIPERR"}, {8, "SEGV_MTEAERR"},
    {9, "SEGV_MTESERR"},          {10, "SEGV_CPERR"},
};
constexpr CodeName kBusCodes[] = {
    {BUS_ADRALN, "BUS_ADRALN"}, {BUS_ADRERR, "BUS_ADRERR"}, {BUS_OBJERR, "BUS_OBJERR"},
    {4, "BUS_MCEERR_AR"},       {5, "BUS_MCEERR_AO"},
};

template <size_t N>
const char* Lookup(const CodeName (&table)[N], int code) {
  for (const auto& entry : table)
    if (entry.code == code) return entry.name;
  return nullptr;
}

}  // namespace

std::string SiCodeName(int sig, int si_code) {
  const char* name = nullptr;
  if (si_code <= 0) {
    name = Lookup(kGenericCodes, si_code);
  } else if (sig == SIGSEGV) {
    name = Lookup(kSegvCodes, si_code);
  } else if (sig == SIGBUS) {
    name = Lookup(kBusCodes, si_code);
  } else if (si_code == SI_KERNEL) {
    name = "SI_KERNEL";
  }
  if (name) return name;
  return "si_code " + std::to_string(si_code);
}

}  // namespace shmconform
