// The cycle of usage across processes: fork inherits attachments, exec and
// exit detach them without destroying the segment.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

shmid_ds StatOf(int id) {
  shmid_ds ds{};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  return ds;
}

TEST(LifecycleTest, ForkedChildInheritsAttachmentAtSameAddressSharedBothWays) {
  REQUIREMENTS("SYSV.FORK.INHERITS_ATTACHMENTS", "SYSV.FORK.NATTCH");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(seg.id()));
  char* shared = att.as<char>();
  std::strcpy(shared, "from parent");
  const int id = seg.id();

  EXPECT_THAT(RunInChild([shared, id] {
                // Same address, same segment: the parent's data is there.
                CHILD_CHECK(std::strcmp(shared, "from parent") == 0);
                shmid_ds ds{};
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_STAT, &ds));
                CHILD_CHECK(ds.shm_nattch == 2);
                std::strcpy(shared, "from child");
              }),
              ExitedWithCode(0));
  EXPECT_STREQ(shared, "from child");
  EXPECT_EQ(StatOf(id).shm_nattch, 1u);  // the child's exit detached its copy
}

// Runs in a fresh process: attach, write, then exec into ReportAfterExec.
SHMCONFORM_SCENARIO(AttachWriteExec) {
  const int id = std::stoi(args.at(0));
  void* p = shmat(id, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return 10;
  std::strcpy(static_cast<char*>(p), "written before exec");
  shmid_ds ds{};
  if (shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch != 1) return 11;
  const std::string flag = "--shmconform_scenario=ReportAfterExec";
  char* argv[] = {const_cast<char*>(SelfExecutable().c_str()), const_cast<char*>(flag.c_str()),
                  const_cast<char*>(args.at(0).c_str()), nullptr};
  execv(argv[0], argv);
  return 12;
}

// After the exec: report the attach count, then read the data back.
SHMCONFORM_SCENARIO(ReportAfterExec) {
  const int id = std::stoi(args.at(0));
  shmid_ds ds{};
  if (shmctl(id, IPC_STAT, &ds) != 0) return 20;
  const char* p = static_cast<const char*>(shmat(id, nullptr, SHM_RDONLY));
  if (p == reinterpret_cast<const char*>(-1)) return 21;
  std::printf("nattch after exec=%lu; data=%s", static_cast<unsigned long>(ds.shm_nattch), p);
  return 0;
}

TEST(LifecycleTest, ExecDetachesAttachmentsWithoutDestroyingTheSegment) {
  REQUIREMENTS("SYSV.EXEC.DETACHES");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  ASSERT_EXEC_SCENARIO(r, "AttachWriteExec", {std::to_string(seg.id())});
  EXPECT_THAT(r.outcome, ExitedWithCode(0));
  EXPECT_EQ(r.output, "nattch after exec=0; data=written before exec");
  const shmid_ds ds = StatOf(seg.id());  // still exists after the process exited
  EXPECT_EQ(ds.shm_nattch, 0u);
}

TEST(LifecycleTest, ExitDetachesAttachmentsWithoutDestroyingTheSegment) {
  REQUIREMENTS("SYSV.EXIT.DETACHES");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const int id = seg.id();
  // The child attaches on its own (nothing inherited) and exits without shmdt.
  EXPECT_THAT(RunInChild([id] {
                void* p = shmat(id, nullptr, 0);
                CHILD_CHECK(p != reinterpret_cast<void*>(-1));
                std::strcpy(static_cast<char*>(p), "left by the child");
                _exit(0);
              }),
              ExitedWithCode(0));
  EXPECT_EQ(StatOf(id).shm_nattch, 0u);
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(id, nullptr, SHM_RDONLY));
  EXPECT_STREQ(att.as<char>(), "left by the child");
}

}  // namespace
}  // namespace shmconform
