// Fork/exec/exit storms with attachments: every worker attaches its own
// segment and then forks children that exit at once, children that exec this
// binary (exec detaches; the new image attaches by id and verifies), and
// children it holds and later releases. shm_nattch must stay exact at every
// step (1 + children holding the attachment), while all workers storm at once.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "framework.h"
#include "shmconform/errno_names.h"
#include "shmconform/system_info.h"

namespace shmconform::stress {
namespace {

enum Op : unsigned { kForkExit, kForkExec, kHold, kRelease, kWrite };
constexpr int kExecUnavailable = 42;

struct Shared {
  char self[512];
};

struct Held {
  pid_t pid;
  int release_fd;  // closing it lets the child exit
};

struct Local {
  int id = -1;
  void* mem = nullptr;
  std::uint32_t size = 0;
  std::uint64_t tag = 0;
  std::vector<Held> held;
  bool exec_ok = true;
};

unsigned long Nattch(Worker& w, int id) {
  shmid_ds ds{};
  w.CheckOk(shmctl(id, IPC_STAT, &ds), "shmctl(shmid %d, IPC_STAT)", id);
  return ds.shm_nattch;
}

void ExpectNattch(Worker& w, const Local& l, unsigned long want, const char* when) {
  const unsigned long got = Nattch(w, l.id);
  if (got != want)
    w.Fail("shmid %d: shm_nattch %lu %s, expected %lu (1 own + %zu held children%s)", l.id, got, when, want,
           l.held.size(), want > 1 + l.held.size() ? " + 1 more child" : "");
}

void VerifyData(Worker& w, const Local& l, const void* mem, const char* who) {
  const long bad = VerifyPattern(mem, l.size, l.tag);
  if (bad >= 0)
    w.Fail("shmid %d seen by %s: byte %ld is %#x, expected %#x", l.id, who, bad,
           static_cast<const unsigned char*>(mem)[bad], PatternByte(l.tag, bad));
}

void WaitClean(Worker& w, pid_t pid, const char* what) {
  int status = 0;
  w.CheckOk(waitpid(pid, &status, 0), "waitpid(%d)", pid);
  if (WIFSIGNALED(status)) w.Fail("%s child %d was killed by %s", what, pid, SignalName(WTERMSIG(status)).c_str());
  if (WEXITSTATUS(status) != 0) _exit(kExitViolation);  // it recorded why
}

void DoOp(Worker& w, Local& l, unsigned op) {
  const unsigned long base = 1 + l.held.size();
  switch (op) {
    case kForkExit: {
      const pid_t pid = w.ForkChild();
      if (pid == 0) {
        ExpectNattch(w, l, base + 1, "in a forked child");
        VerifyData(w, l, l.mem, "a forked child");
        _exit(0);
      }
      WaitClean(w, pid, "forked");
      ExpectNattch(w, l, base, "after a forked child exited");
      break;
    }
    case kForkExec: {
      int out[2];
      w.CheckOk(pipe2(out, O_CLOEXEC), "pipe2()");
      const pid_t pid = w.ForkChild();
      if (pid == 0) {
        dup2(out[1], 1);
        char id[16], want[24], tag[24], size[16];
        std::snprintf(id, sizeof id, "%d", l.id);
        std::snprintf(want, sizeof want, "%lu", base);
        std::snprintf(tag, sizeof tag, "%llu", static_cast<unsigned long long>(l.tag));
        std::snprintf(size, sizeof size, "%u", l.size);
        const char* self = w.user<Shared>()->self;
        char* const argv[] = {const_cast<char*>(self), const_cast<char*>("--exec-child"), id, want, tag, size, nullptr};
        execv(self, argv);
        _exit(errno == ENOEXEC || errno == ENOENT || errno == EACCES ? kExecUnavailable : 98);
      }
      close(out[1]);
      char msg[400] = {};
      ssize_t n, used = 0;
      while ((n = read(out[0], msg + used, sizeof msg - 1 - static_cast<size_t>(used))) > 0) used += n;
      close(out[0]);
      int status = 0;
      w.CheckOk(waitpid(pid, &status, 0), "waitpid(%d)", pid);
      if (WIFEXITED(status) && WEXITSTATUS(status) == kExecUnavailable) {
        l.exec_ok = false;  // qemu-user without binfmt: storms without exec
        break;
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        w.Fail("exec'd child %d (%s): %s", pid,
               WIFSIGNALED(status) ? ("killed by " + SignalName(WTERMSIG(status))).c_str() : "failed",
               used ? msg : "no message");
      ExpectNattch(w, l, base, "after an exec'd child exited");
      break;
    }
    case kHold: {
      int gate[2];
      w.CheckOk(pipe2(gate, O_CLOEXEC), "pipe2()");
      const pid_t pid = w.ForkChild();
      if (pid == 0) {
        close(gate[1]);
        for (const Held& h : l.held) close(h.release_fd);
        if (w.config().Injecting("extra-attach") && w.index() == 0) shmat(l.id, nullptr, SHM_RDONLY);
        char c;
        while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
      }
      close(gate[0]);
      l.held.push_back({pid, gate[1]});
      ExpectNattch(w, l, base + 1, "with one more held child");
      break;
    }
    case kRelease: {
      const std::size_t i = w.rng().Below(l.held.size());
      const Held h = l.held[i];
      l.held.erase(l.held.begin() + static_cast<long>(i));
      close(h.release_fd);
      WaitClean(w, h.pid, "held");
      ExpectNattch(w, l, base - 1, "after a held child exited");
      break;
    }
    case kWrite:
      l.tag = Mix64(w.config().seed ^ (std::uint64_t{w.index()} << 40) ^ w.op_number()) | 1;
      FillPattern(l.mem, l.size, l.tag);
      if (w.config().Injecting("corrupt-byte") && w.index() == 0)
        static_cast<unsigned char*>(l.mem)[w.rng().Below(l.size)] ^= 0x04;
      VerifyData(w, l, l.mem, "the worker");
      break;
  }
}

void Work(Worker& w) {
  Local l;
  const key_t key = w.run().KeyFor(w.index());
  l.size = static_cast<std::uint32_t>(w.config().Value("size"));
  l.id = static_cast<int>(w.CheckOk(shmget(key, l.size, IPC_CREAT | IPC_EXCL | 0600),
                                    "shmget(key %#x, %u, IPC_CREAT|IPC_EXCL)", key, l.size));
  l.mem = shmat(l.id, nullptr, 0);
  w.CheckOk(reinterpret_cast<long>(l.mem), "shmat(shmid %d)", l.id);
  l.tag = Mix64(w.config().seed ^ w.index()) | 1;
  FillPattern(l.mem, l.size, l.tag);
  const std::size_t max_held = w.config().Value("held");
  const bool exec = w.config().Value("exec") != 0;
  static constexpr unsigned kWeights[] = {4, 2, 3, 3, 1};
  unsigned total = 0;
  for (unsigned x : kWeights) total += x;
  while (w.Running()) {
    unsigned pick = static_cast<unsigned>(w.rng().Below(total)), op = 0;
    while (pick >= kWeights[op]) pick -= kWeights[op++];
    if (op == kForkExec && (!exec || !l.exec_ok)) op = kForkExit;
    if (op == kHold && l.held.size() >= max_held) op = kRelease;
    if (op == kRelease && l.held.empty()) op = kHold;
    w.Begin(op);
    DoOp(w, l, op);
    w.End();
  }
  while (!l.held.empty()) DoOp(w, l, kRelease);  // cleanup: checked, not counted
  ExpectNattch(w, l, 1, "after every child exited");
  w.CheckOk(shmctl(l.id, IPC_RMID, nullptr), "shmctl(shmid %d, IPC_RMID)", l.id);
  w.CheckOk(shmdt(l.mem), "shmdt(%p)", l.mem);
  shmid_ds ds{};
  w.CheckErrno(shmctl(l.id, IPC_STAT, &ds), EINVAL,
               "shmctl(shmid %d, IPC_STAT) after the last detach of a removed segment", l.id);
}

// `stress-fork-storm --exec-child SHMID NATTCH TAG SIZE`: the image a forked
// child execs. Its inherited attachment is gone; it attaches again, checks
// shm_nattch before and after, verifies the data and reports on stdout.
int ExecChild(int argc, char** argv) {
  if (argc != 6) return 97;
  const int id = std::atoi(argv[2]);
  const unsigned long want = std::strtoul(argv[3], nullptr, 10);
  const std::uint64_t tag = std::strtoull(argv[4], nullptr, 10);
  const std::size_t size = std::strtoul(argv[5], nullptr, 10);
  shmid_ds ds{};
  if (shmctl(id, IPC_STAT, &ds) != 0)
    return std::printf("IPC_STAT of shmid %d after exec failed with %s", id, ErrnoName(errno).c_str()), 1;
  if (ds.shm_nattch != want)
    return std::printf("shmid %d: shm_nattch %lu after exec, expected %lu (exec must detach)", id,
                       static_cast<unsigned long>(ds.shm_nattch), want),
           1;
  void* mem = shmat(id, nullptr, SHM_RDONLY);
  if (mem == reinterpret_cast<void*>(-1))
    return std::printf("shmat(%d) after exec failed with %s", id, ErrnoName(errno).c_str()), 1;
  if (shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch != want + 1)
    return std::printf("shmid %d: shm_nattch %lu after shmat in the exec'd image, expected %lu", id,
                       static_cast<unsigned long>(ds.shm_nattch), want + 1),
           1;
  const long bad = VerifyPattern(mem, size, tag);
  if (bad >= 0)
    return std::printf("shmid %d seen by an exec'd image: byte %ld is %#x, expected %#x", id, bad,
                       static_cast<const unsigned char*>(mem)[bad], PatternByte(tag, bad)),
           1;
  if (shmdt(mem) != 0) return std::printf("shmdt failed with %s", ErrnoName(errno).c_str()), 1;
  return 0;
}

void Setup(Run& run) {
  auto* sh = run.SharedArray<Shared>(1);
  const ssize_t n = readlink("/proc/self/exe", sh->self, sizeof sh->self - 1);
  if (n <= 0) std::snprintf(sh->self, sizeof sh->self, "%s", "/proc/self/exe");
  run.user = sh;
}

}  // namespace
}  // namespace shmconform::stress

int main(int argc, char** argv) {
  using namespace shmconform::stress;
  ScenarioDef def;
  def.name = "fork-storm";
  def.summary = "fork/exec/exit storms over attached segments: shm_nattch exact at every step.";
  def.op_names = {"fork-exit", "fork-exec", "hold", "release", "write"};
  def.injections = {"corrupt-byte", "extra-attach"};
  def.options = {{"size", 65536, 1, 1u << 30, "segment size in bytes (one per worker)"},
                 {"held", 4, 0, 64, "children a worker holds alive at most"},
                 {"exec", 1, 0, 1, "1: children also exec this binary"}};
  def.validate = [](const Config& c) -> std::string {
    const auto shmmax = shmconform::ReadProcNumber("/proc/sys/kernel/shmmax");
    if (shmmax && c.Value("size") > *shmmax) return "--size exceeds kernel.shmmax (" + std::to_string(*shmmax) + ")";
    return CheckMemory(c.Value("size") * c.workers, "--size x --workers");
  };
  def.setup = Setup;
  def.work = Work;
  def.exec_child = ExecChild;
  return StressMain(argc, argv, def);
}
