// The cycle of usage across processes: fork inherits attachments, exec and
// exit detach them without destroying the segment.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/shmconform.h"
#include "sysv_util.h"

namespace shmconform {
namespace {

using sysv::ChildCountProcShmLines;
using sysv::StatOf;

void* const kFailed = reinterpret_cast<void*>(-1);

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
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(id)).shm_nattch, 1u);  // the child's exit detached its copy
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
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id()));  // still exists after the process exited
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
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(id)).shm_nattch, 0u);
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(id, nullptr, SHM_RDONLY));
  EXPECT_STREQ(att.as<char>(), "left by the child");
}

// The seed's cycle of usage: one process creates, three attach at once and
// each sees what all wrote, each detaches, one removes.
TEST(LifecycleTest, CreateAttachDetachRemoveAcrossSeveralProcesses) {
  REQUIREMENTS("SYSV.LIFECYCLE.CYCLE_OF_USAGE");
  constexpr int kUsers = 3;
  const key_t key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  std::array<Notification, kUsers> attached;
  Notification go;
  std::vector<AsyncChild> users;
  for (int i = 0; i < kUsers; ++i) {
    users.push_back(AsyncChild::Start([&, i] {
      const int id = shmget(key, 0, 0);
      CHILD_CHECK(id >= 0);
      char* p = static_cast<char*>(shmat(id, nullptr, 0));
      CHILD_CHECK(p != kFailed);
      p[i] = static_cast<char>('a' + i);
      attached[i].Notify();
      CHILD_CHECK(go.WaitForNotification());
      CHILD_CHECK(std::memcmp(p, "abc", kUsers) == 0);
      CHILD_CHECK_SUCCESS(shmdt(p));
    }));
  }
  for (auto& n : attached) ASSERT_TRUE(n.WaitForNotification());
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, static_cast<shmatt_t>(kUsers));
  for (int i = 0; i < kUsers; ++i) go.Notify();
  for (auto& user : users) EXPECT_THAT(user.Wait(), ExitedWithCode(0));
  EXPECT_EQ(ASSERT_NO_ERRNO_AND_VALUE(StatOf(seg.id())).shm_nattch, 0u);
  const int id = seg.release();
  ASSERT_THAT(shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  EXPECT_THAT(shmget(key, 0, 0), SyscallFailsWithErrno(ENOENT));
}

// A fresh process creates a keyed segment, writes, and exits without
// detaching or removing it.
SHMCONFORM_SCENARIO(CreateWriteAndExit) {
  const int id = shmget(static_cast<key_t>(std::stoul(args.at(0))), PageSize(), IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) return 30;
  char* p = static_cast<char*>(shmat(id, nullptr, 0));
  if (p == kFailed) return 31;
  std::strcpy(p, "outlived its creator");
  std::printf("%d", static_cast<int>(getpid()));
  return 0;
}

TEST(LifecycleTest, SegmentOutlivesEveryProcessUntilRemoved) {
  REQUIREMENTS("SYSV.LIFECYCLE.KERNEL_PERSISTENCE");
  const key_t key = UniqueIpcKey();
  Cleanup remove([key] {
    if (const int id = shmget(key, 0, 0); id >= 0) shmctl(id, IPC_RMID, nullptr);
  });
  ASSERT_EXEC_SCENARIO(r, "CreateWriteAndExit", {std::to_string(static_cast<unsigned>(key))});
  ASSERT_THAT(r.outcome, ExitedWithCode(0));
  const int id = shmget(key, 0, 0);
  ASSERT_THAT(id, SyscallSucceeds());
  const shmid_ds ds = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(std::to_string(ds.shm_cpid), r.output);
  EXPECT_EQ(std::to_string(ds.shm_lpid), r.output);
  auto att = ASSERT_NO_ERRNO_AND_VALUE(ShmAttachment::Attach(id, nullptr, SHM_RDONLY));
  EXPECT_STREQ(att.as<char>(), "outlived its creator");
}

TEST(LifecycleTest, ExitOfTheLastAttachedProcessDestroysARemovedSegment) {
  REQUIREMENTS("SYSV.LIFECYCLE.EXIT_AFTER_RMID_DESTROYS");
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0600));
  const int id = seg.id();
  Notification attached, go;
  auto child = AsyncChild::Start([&] {
    CHILD_CHECK(shmat(id, nullptr, 0) != kFailed);
    attached.Notify();
    CHILD_CHECK(go.WaitForNotification());
    _exit(0);  // no shmdt: exit detaches
  });
  ASSERT_TRUE(attached.WaitForNotification());
  ASSERT_THAT(shmctl(id, IPC_RMID, nullptr), SyscallSucceeds());
  const shmid_ds marked = ASSERT_NO_ERRNO_AND_VALUE(StatOf(id));
  EXPECT_EQ(marked.shm_perm.mode & SHM_DEST, static_cast<unsigned>(SHM_DEST));
  EXPECT_EQ(marked.shm_nattch, 1u);
  go.Notify();
  EXPECT_THAT(child.Wait(), ExitedWithCode(0));
  shmid_ds ds{};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallFailsWithErrno(EINVAL));
}

// The seed's example program, step by step. It reattaches at the fixed address
// 0x5000000; here the "different address" is one found free while the first
// attachment still holds its own, so it is different on every platform.
TEST(LifecycleTest, SeedExampleProgramRunsAsDocumented) {
  REQUIREMENTS("SYSV.LIFECYCLE.SEED_EXAMPLE");
  const int shared_segment_size = 0x6400;
  const int segment_id = shmget(IPC_PRIVATE, shared_segment_size, IPC_CREAT | IPC_EXCL | S_IRUSR | S_IWUSR);
  ASSERT_THAT(segment_id, SyscallSucceeds());
  SysvSegment owner(segment_id);  // removes it should a step below fail
  char* shared_memory = static_cast<char*>(shmat(segment_id, nullptr, 0));
  ASSERT_THAT(static_cast<void*>(shared_memory), SyscallSucceeds());
  shmid_ds shmbuffer{};
  ASSERT_THAT(shmctl(segment_id, IPC_STAT, &shmbuffer), SyscallSucceeds());
  EXPECT_EQ(static_cast<int>(shmbuffer.shm_segsz), shared_segment_size);
  std::sprintf(shared_memory, "Hello, world.");
  void* different = FindUnmappedRange(RoundUpToPage(shared_segment_size), Shmlba());
  ASSERT_THAT(shmdt(shared_memory), SyscallSucceedsWithValue(0));

  char* reattached = static_cast<char*>(shmat(segment_id, different, 0));
  ASSERT_THAT(static_cast<void*>(reattached), SyscallSucceeds());
  EXPECT_EQ(static_cast<void*>(reattached), different);
  EXPECT_NE(static_cast<void*>(reattached), static_cast<void*>(shared_memory));
  EXPECT_STREQ(reattached, "Hello, world.");
  EXPECT_THAT(shmdt(reattached), SyscallSucceedsWithValue(0));
  EXPECT_THAT(shmctl(owner.release(), IPC_RMID, nullptr), SyscallSucceedsWithValue(0));
  EXPECT_THAT(shmctl(segment_id, IPC_STAT, &shmbuffer), SyscallFailsWithErrno(EINVAL));
}

// No segment this process created in the tests that ran before this one is
// still there. Segments other processes create (children, exec'd scenarios)
// are checked by running the tests that make them again inside a private IPC
// namespace, where /proc/sysvipc/shm lists only what that run created, and
// checking that it lists nothing once the run is over.
TEST(LifecycleTest, SuiteRunLeavesNoSegmentBehind) {
  REQUIREMENTS("SYSV.PROC.NO_LEFTOVERS");
  const auto rows = ReadProcSysvipcShm();
  if (!rows) GTEST_SKIP() << "no /proc/sysvipc/shm here";
  for (const auto& row : *rows) EXPECT_NE(row.cpid, getpid()) << "segment " << row.shmid << " left behind";
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();

  // Everything the grandchild needs is built before fork.
  const auto* self_test = ::testing::UnitTest::GetInstance()->current_test_info();
  // The tests in which a process other than the test process creates a
  // segment; the rest create theirs in this process (checked above).
  const std::string filter =
      std::string("--gtest_filter=LifecycleTest.*:ShmgetTest.Unrelated*:ShmgetTest.Creators*:ShmctlTest.Creator*-") +
      self_test->test_suite_name() + "." + self_test->name();
  std::vector<char*> argv = {const_cast<char*>(SelfExecutable().c_str()), const_cast<char*>(filter.c_str()), nullptr};
  std::vector<char*> envp;  // no GTEST_* variables: no report files, no sharding
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "GTEST_", 6) != 0) envp.push_back(*e);
  envp.push_back(nullptr);
  const UniqueFd devnull(open("/dev/null", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull.valid());
  const int quiet = devnull.get();
  constexpr int kCannotExec = 77;
  const ChildOutcome outcome = RunInPrivateIpcNamespace([&] {
    const pid_t pid = fork();
    CHILD_CHECK(pid >= 0);
    if (pid == 0) {
      dup2(quiet, STDOUT_FILENO);
      dup2(quiet, STDERR_FILENO);
      execve(argv[0], argv.data(), envp.data());
      _exit(errno == ENOEXEC ? kCannotExec : 127);
    }
    int status = 0;
    CHILD_CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == kCannotExec) _exit(kCannotExec);
    CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 127);
    CHILD_CHECK(ChildCountProcShmLines() == 1);  // the column headings only
  });
  if (outcome.exited() && outcome.exit_code == kCannotExec)
    GTEST_SKIP() << "cannot re-exec the test binary here (ENOEXEC: no binfmt for this architecture)";
  EXPECT_THAT(outcome, ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
