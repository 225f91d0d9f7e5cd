// ipc_namespaces(7): what a container's private IPC namespace must isolate --
// keys, ids, the /proc view, the limits -- and how its segments end.
// Every test makes its own namespace in a child; nothing on the host changes.
// As root the namespace is made directly; as an ordinary user, where the
// kernel allows it, inside a user namespace (as rootless containers do).
#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "isolation.h"
#include "shmconform/environment_probes.h"
#include "shmconform/shmconform.h"

namespace shmconform {
namespace {

// Async-signal-safe, for a child in a fresh namespace (few rows): is there a
// row for `key` in its /proc/sysvipc/shm? 1 yes, 0 no, -1 unreadable or too
// long. Keys are printed in decimal. The host side uses ReadProcSysvipcShm.
int ProcListsKey(key_t key) {
  AsyncSafeText want;
  want.AppendDecimal(key);
  const int fd = open("/proc/sysvipc/shm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  static char buf[1 << 16];
  // Rows start with the key, right-aligned after spaces.
  int found = 0;
  size_t have = 0;
  ssize_t got;
  while (have < sizeof buf - 1 && (got = read(fd, buf + have, sizeof buf - 1 - have)) > 0) have += got;
  close(fd);
  if (have == sizeof buf - 1) return -1;  // too many rows for this buffer: say so, never guess
  buf[have] = '\0';
  for (char* line = buf; line && *line;) {
    char* end = std::strchr(line, '\n');
    if (end) *end = '\0';
    char* p = line;
    while (*p == ' ') ++p;
    if (std::strncmp(p, want.c_str(), want.size()) == 0 && p[want.size()] == ' ') found = 1;
    line = end ? end + 1 : nullptr;
  }
  return found;
}

bool HostListsKey(key_t key) {
  const auto rows = ReadProcSysvipcShm();
  return rows && std::any_of(rows->begin(), rows->end(), [key](const ProcShmEntry& e) { return e.key == key; });
}

TEST(IpcNamespaceTest, KeysAreVisibleOnlyInTheirOwnNamespace) {
  REQUIREMENTS("NS.IPC.KEY_ISOLATED");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  const key_t host_key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(host_key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  const key_t inner_key = UniqueIpcKey();
  EXPECT_THAT(RunInPrivateIpcNamespace([=] {
                CHILD_CHECK_ERRNO(shmget(host_key, 0, 0), ENOENT);
                // The same key is free here: a new segment, not the host's.
                const int id = shmget(host_key, PageSize(), IPC_CREAT | IPC_EXCL | 0600);
                CHILD_CHECK(id >= 0);
                CHILD_CHECK_SUCCESS(shmget(inner_key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
              }),
              ExitedWithCode(0));
  EXPECT_THAT(shmget(inner_key, 0, 0), SyscallFailsWithErrno(ENOENT));
  EXPECT_THAT(shmget(host_key, 0, 0), SyscallSucceedsWithValue(seg.id()));
}

TEST(IpcNamespaceTest, IdsFromAnotherNamespaceAreInvalid) {
  REQUIREMENTS("NS.IPC.ID_ISOLATED");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(IPC_PRIVATE, PageSize(), IPC_CREAT | 0666));
  const int id = seg.id();
  EXPECT_THAT(RunInPrivateIpcNamespace([id] {
                shmid_ds ds{};
                CHILD_CHECK_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL);
                CHILD_CHECK_ERRNO(shmat(id, nullptr, 0), EINVAL);
                CHILD_CHECK_ERRNO(shmctl(id, IPC_RMID, nullptr), EINVAL);
              }),
              ExitedWithCode(0));
  shmid_ds ds{};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());  // the RMID above did not reach it
}

TEST(IpcNamespaceTest, ProcSysvipcShmListsOnlyTheNamespacesSegments) {
  REQUIREMENTS("NS.IPC.PROC_VIEW");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  if (!ReadProcSysvipcShm()) GTEST_SKIP() << "/proc/sysvipc/shm is not readable here";
  const key_t host_key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(host_key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
  ASSERT_TRUE(HostListsKey(host_key));
  const key_t inner_key = UniqueIpcKey();
  EXPECT_THAT(RunInPrivateIpcNamespace([=] {
                CHILD_CHECK(ProcListsKey(host_key) == 0);
                CHILD_CHECK_SUCCESS(shmget(inner_key, PageSize(), IPC_CREAT | IPC_EXCL | 0600));
                CHILD_CHECK(ProcListsKey(inner_key) == 1);
              }),
              ExitedWithCode(0));
  EXPECT_FALSE(HostListsKey(inner_key));
}

// The host's view of everything a namespace test could change.
struct HostIpcState {
  std::optional<std::uint64_t> shmmax, shmall, shmmni, rmid_forced;
  std::optional<std::string> next_id;
  bool operator==(const HostIpcState&) const = default;
};

auto Fields(const ProcShmEntry& e) {
  return std::make_tuple(e.key, e.shmid, e.perms, e.size, e.cpid, e.lpid, e.nattch, e.uid, e.gid, e.cuid, e.cgid,
                         e.atime, e.dtime, e.ctime);
}

HostIpcState ReadHostIpcState() {
  return {ReadProcNumber("/proc/sys/kernel/shmmax"), ReadProcNumber("/proc/sys/kernel/shmall"),
          ReadProcNumber("/proc/sys/kernel/shmmni"), ReadProcNumber("/proc/sys/kernel/shm_rmid_forced"),
          ReadFile("/proc/sys/kernel/shm_next_id")};
}

TEST(IpcNamespaceTest, LimitsAndSegmentsSetInsideLeaveTheHostUnchanged) {
  REQUIREMENTS("NS.IPC.LIMITS_PER_NAMESPACE");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  const key_t host_key = UniqueIpcKey();
  auto seg = ASSERT_NO_ERRNO_AND_VALUE(SysvSegment::Create(host_key, 3 * PageSize() + 1, IPC_CREAT | IPC_EXCL | 0640));
  const HostIpcState before = ReadHostIpcState();
  const auto host_entry_before = FindProcShmEntry(seg.id());
  ASSERT_TRUE(before.shmmax && before.shmall && before.shmmni) << "host /proc/sys/kernel/shm* unreadable";
  ASSERT_TRUE(host_entry_before.has_value());

  const key_t inner_key = UniqueIpcKey();
  const size_t page = PageSize();
  const bool has_next_id = before.next_id.has_value();
  EXPECT_THAT(RunInPrivateIpcNamespace([=] {
                CHILD_CHECK(WriteKernelSysctl("shmmax", page));
                CHILD_CHECK(WriteKernelSysctl("shmall", 1));
                CHILD_CHECK(WriteKernelSysctl("shmmni", 1));
                CHILD_CHECK(WriteKernelSysctl("shm_rmid_forced", 1));
                if (has_next_id) CHILD_CHECK(WriteKernelSysctl("shm_next_id", 77));
                const int id = shmget(inner_key, page, IPC_CREAT | IPC_EXCL | 0600);
                CHILD_CHECK(id >= 0);
                CHILD_CHECK(!has_next_id || id == 77);
                // The namespace's own limits hold in it: shmmni is 1.
                CHILD_CHECK_ERRNO(shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600), ENOSPC);
              }),
              ExitedWithCode(0));
  EXPECT_EQ(ReadHostIpcState(), before);
  EXPECT_THAT(shmget(inner_key, 0, 0), SyscallFailsWithErrno(ENOENT));
  const auto host_entry_after = FindProcShmEntry(seg.id());
  ASSERT_TRUE(host_entry_after.has_value());
  EXPECT_EQ(Fields(*host_entry_after), Fields(*host_entry_before))
      << "the host segment's /proc/sysvipc/shm row changed";
}

TEST(IpcNamespaceTest, RmidForcedDestroysSegmentsOnLastDetachAndOnCreatorExit) {
  REQUIREMENTS("NS.IPC.RMID_FORCED");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE();
  if (!ReadProcNumber("/proc/sys/kernel/shm_rmid_forced")) GTEST_SKIP() << "no kernel.shm_rmid_forced here";
  const size_t page = PageSize();
  const key_t keys[4] = {UniqueIpcKey(), UniqueIpcKey(), UniqueIpcKey(), UniqueIpcKey()};
  // Attach and detach keys[0+forced]; a grandchild creates keys[2+forced] and exits.
  auto cycle = [page, &keys](int forced) {
    const int id = shmget(keys[forced], page, IPC_CREAT | IPC_EXCL | 0600);
    CHILD_CHECK(id >= 0);
    void* p = shmat(id, nullptr, 0);
    CHILD_CHECK(p != reinterpret_cast<void*>(-1));
    CHILD_CHECK_SUCCESS(shmdt(p));
    const pid_t pid = fork();
    if (pid == 0) _exit(shmget(keys[2 + forced], page, IPC_CREAT | IPC_EXCL | 0600) >= 0 ? 0 : 1);
    int status = -1;
    CHILD_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0);
  };
  EXPECT_THAT(RunInPrivateIpcNamespace([&] {
                CHILD_CHECK(WriteKernelSysctl("shm_rmid_forced", 0));
                cycle(0);  // without the setting both segments stay
                CHILD_CHECK_SUCCESS(shmget(keys[0], 0, 0));
                CHILD_CHECK_SUCCESS(shmget(keys[2], 0, 0));
                CHILD_CHECK(WriteKernelSysctl("shm_rmid_forced", 1));
                cycle(1);
                CHILD_CHECK_ERRNO(shmget(keys[1], 0, 0), ENOENT);
                CHILD_CHECK_ERRNO(shmget(keys[3], 0, 0), ENOENT);
              }),
              ExitedWithCode(0));
}

// Async-signal-safe bounded retry: calls `attempt` until it returns true or
// `seconds` pass, pausing a millisecond between tries.
template <typename Fn>
bool RetryFor(int seconds, Fn attempt) {
  timespec start{}, now{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    if (attempt()) return true;
    const timespec pause{0, 1000000};
    nanosleep(&pause, nullptr);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < seconds);
  return false;
}

// SHM_LOCK charges a segment to its locker's RLIMIT_MEMLOCK account until the
// segment is destroyed. With a one-page limit on an otherwise unused uid, a new
// lock succeeds only once the old segment is gone, which makes the end of a
// namespace's segments visible from outside it.
TEST(IpcNamespaceTest, SegmentsLiveAsLongAsTheNamespaceAndDieWithIt) {
  REQUIREMENTS("NS.IPC.DESTROYED_WITH_NAMESPACE");
  SKIP_UNLESS_PRIVATE_IPC_NAMESPACE_MADE_DIRECTLY();
  SKIP_UNLESS_CAN_CHANGE_UID();
  // Opening /proc/PID/ns/ipc of a child that became another user is a ptrace access check.
  SKIP_WITHOUT_CAPABILITY(CAP_SYS_PTRACE);
  const uid_t uid = UnusedUid();
  const size_t page = PageSize();
  const key_t key = UniqueIpcKey();
  Notification locked, may_exit;
  AsyncChild owner = AsyncChild::Start([&] {
    CHILD_CHECK_SUCCESS(unshare(CLONE_NEWIPC));
    BecomeUserWithMemlock(uid, page);
    const int id = shmget(key, page, IPC_CREAT | IPC_EXCL | 0600);
    CHILD_CHECK(id >= 0);
    CHILD_CHECK_SUCCESS(shmctl(id, SHM_LOCK, nullptr));
    const int second = shmget(IPC_PRIVATE, page, IPC_CREAT | 0600);
    CHILD_CHECK(second >= 0);
    CHILD_CHECK_ERRNO(shmctl(second, SHM_LOCK, nullptr), ENOMEM);  // the account is full
    locked.Notify();
    CHILD_CHECK(may_exit.WaitForNotification());
  });
  ASSERT_TRUE(locked.WaitForNotification()) << owner.Wait().Describe();
  auto ns = ASSERT_NO_ERRNO_AND_VALUE(Open("/proc/" + std::to_string(owner.pid()) + "/ns/ipc", O_RDONLY));
  may_exit.Notify();
  ASSERT_THAT(owner.Wait(), ExitedWithCode(0));

  // No process is in the namespace now; the descriptor keeps it, and the segment.
  const int nsfd = ns.get();
  EXPECT_THAT(RunInChild([=] {
                CHILD_CHECK_SUCCESS(setns(nsfd, CLONE_NEWIPC));
                const int id = shmget(key, 0, 0);
                CHILD_CHECK(id >= 0);
                shmid_ds ds{};
                CHILD_CHECK_SUCCESS(shmctl(id, IPC_STAT, &ds));
                CHILD_CHECK((ds.shm_perm.mode & SHM_LOCKED) && ds.shm_perm.uid == uid);
              }),
              ExitedWithCode(0));
  ns.reset();  // the last reference: the namespace goes, and its segment with it

  // The kernel frees a namespace from a work queue after an RCU grace period,
  // so the charge comes back soon, not at once: a bounded wait on the kernel.
  EXPECT_THAT(RunInPrivateIpcNamespace([=] {
                BecomeUserWithMemlock(uid, page);
                const int id = shmget(IPC_PRIVATE, page, IPC_CREAT | 0600);
                CHILD_CHECK(id >= 0);
                CHILD_CHECK(RetryFor(10, [id] { return shmctl(id, SHM_LOCK, nullptr) == 0 || errno != ENOMEM; }));
                CHILD_CHECK_SUCCESS(shmctl(id, SHM_LOCK, nullptr));
              }),
              ExitedWithCode(0));
}

}  // namespace
}  // namespace shmconform
