#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/environment_probes.h"

namespace shmconform {
namespace {

// Takes `cap` out of the effective set only (it stays permitted).
bool LowerEffective(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[cap / 32].effective &= ~(1u << (cap % 32));
  return syscall(SYS_capset, &header, data) == 0;
}

TEST(EnvironmentProbesTest, AMissingCapabilityIsAReasonNamingIt) {
  if (WhyNoCapability(CAP_IPC_OWNER, "CAP_IPC_OWNER")) GTEST_SKIP() << "this process lacks CAP_IPC_OWNER already";
  EXPECT_THAT(RunInChild([] {
                CHILD_CHECK(LowerEffective(CAP_IPC_OWNER));
                const auto why = WhyNoCapability(CAP_IPC_OWNER, "CAP_IPC_OWNER");
                CHILD_CHECK(why && why->find("needs CAP_IPC_OWNER") != std::string::npos &&
                            why->find("cap-add=IPC_OWNER") != std::string::npos);
              }),
              ExitedWithCode(0));
}

TEST(EnvironmentProbesTest, ShmSysctlProbeAgreesWithThePrivateNamespaceProbe) {
  const ShmSysctlProbe& probe = ProbeShmSysctls();
  // Writable sysctls imply a namespace; a reason is given exactly when they are not writable.
  EXPECT_TRUE(!probe.why_not.has_value() <= probe.namespace_made);
  EXPECT_EQ(probe.why_not.has_value(), WhyShmSysctlsNotWritable().has_value());
}

}  // namespace
}  // namespace shmconform
