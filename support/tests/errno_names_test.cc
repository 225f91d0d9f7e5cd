#include <errno.h>
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/errno_names.h"

namespace shmconform {
namespace {

TEST(ErrnoNamesTest, KnownErrnoHasItsSymbolicName) {
  EXPECT_EQ(ErrnoName(EACCES), "EACCES");
  EXPECT_EQ(ErrnoName(EIDRM), "EIDRM");
}

TEST(ErrnoNamesTest, UnknownErrnoFallsBackToItsNumber) { EXPECT_EQ(ErrnoName(4242), "errno 4242"); }

TEST(ErrnoNamesTest, DescriptionCarriesNameAndText) {
  EXPECT_THAT(DescribeErrno(ENOENT), ::testing::StartsWith("ENOENT (No such file"));
}

TEST(ErrnoNamesTest, SignalNames) {
  EXPECT_EQ(SignalName(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(SignalName(SIGBUS), "SIGBUS");
}

TEST(ErrnoNamesTest, SiCodeNamesDependOnTheSignal) {
  EXPECT_EQ(SiCodeName(SIGSEGV, SEGV_MAPERR), "SEGV_MAPERR");
  EXPECT_EQ(SiCodeName(SIGSEGV, SEGV_ACCERR), "SEGV_ACCERR");
  EXPECT_EQ(SiCodeName(SIGBUS, BUS_ADRERR), "BUS_ADRERR");
  EXPECT_EQ(SiCodeName(SIGBUS, 1), "BUS_ADRALN");  // same number as SEGV_MAPERR
  EXPECT_EQ(SiCodeName(SIGSEGV, SI_USER), "SI_USER");
  EXPECT_EQ(SiCodeName(SIGSEGV, 77), "si_code 77");
}

}  // namespace
}  // namespace shmconform
