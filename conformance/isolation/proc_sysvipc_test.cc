// proc(5): /proc/sys/kernel/shm_next_id. (The /proc/sysvipc/shm rows are
// checked in conformance/sysv, SYSV.PROC.SYSVIPC_SHM.)
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "isolation.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

TEST(ProcShmNextIdTest, ChoosesTheIdOfTheNextSegmentOnce) {
  REQUIREMENTS("PROC.SHM_NEXT_ID");
  if (!ReadFile("/proc/sys/kernel/shm_next_id"))
    GTEST_SKIP() << "no /proc/sys/kernel/shm_next_id (kernel without CONFIG_CHECKPOINT_RESTORE)";
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();  // never set it on the host
  // Index 7, sequence 3: valid with either ipcmni layout.
  constexpr int kWanted = 3 * 32768 + 7;
  EXPECT_THAT(RunInPrivateIpcNamespace([] {
                CHILD_CHECK(WriteKernelSysctl("shm_next_id", kWanted));
                CHILD_CHECK(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600) == kWanted);
                // Used once: the file reads -1 again, the kernel chooses.
                char text[16] = {};
                const int fd = open("/proc/sys/kernel/shm_next_id", O_RDONLY | O_CLOEXEC);
                CHILD_CHECK(fd >= 0 && read(fd, text, sizeof text - 1) > 0);
                close(fd);
                CHILD_CHECK(std::strcmp(text, "-1\n") == 0);
              }),
              ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
