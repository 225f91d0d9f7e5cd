// An LD_PRELOAD library that breaks one documented behaviour at a time, chosen
// by $SHMCONFORM_MUTANT. harness/tests/test_mutants.py runs conformance tests
// under each mutant and requires them to FAIL: the proof that a test can see
// the behaviour it claims to check. Never used outside those tests.
#include <dlfcn.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdlib>
#include <cstring>

namespace {

bool Mutant(const char* name) {
  const char* active = std::getenv("SHMCONFORM_MUTANT");
  return active && std::strcmp(active, name) == 0;
}

template <typename Fn>
Fn Real(const char* symbol) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, symbol));
}

// Attachments made through shmat in this process, for the fork mutant.
void* g_attached[64];
int g_attached_count = 0;
pid_t g_first_pid = 0;

__attribute__((constructor)) void RememberFirstPid() { g_first_pid = getpid(); }

}  // namespace

extern "C" {

// excl-ignored: IPC_EXCL has no effect, so an existing key is opened.
int shmget(key_t key, size_t size, int shmflg) {
  if (Mutant("excl-ignored")) shmflg &= ~IPC_EXCL;
  return Real<int (*)(key_t, size_t, int)>("shmget")(key, size, shmflg);
}

// stat-segsz-rounded: IPC_STAT reports the page-rounded size.
// nattch-inflated: IPC_STAT counts one attachment too many (as if exec or exit
// had left one behind).
int shmctl(int id, int cmd, struct shmid_ds* buf) {
  const int rc = Real<int (*)(int, int, struct shmid_ds*)>("shmctl")(id, cmd, buf);
  if (rc == 0 && cmd == IPC_STAT && buf) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    if (Mutant("stat-segsz-rounded")) buf->shm_segsz = (buf->shm_segsz + page - 1) / page * page;
    if (Mutant("nattch-inflated")) buf->shm_nattch += 1;
  }
  return rc;
}

// extra-page-after-segment: the page after an attachment is usable too.
// destroy-on-child-exit: an attachment made by a child process is marked for
// destruction, so the segment dies with the child.
void* shmat(int id, const void* addr, int flg) {
  void* p = Real<void* (*)(int, const void*, int)>("shmat")(id, addr, flg);
  if (p == reinterpret_cast<void*>(-1)) return p;
  if (g_attached_count < 64) g_attached[g_attached_count++] = p;
  if (Mutant("extra-page-after-segment")) {
    struct shmid_ds ds{};
    if (Real<int (*)(int, int, struct shmid_ds*)>("shmctl")(id, IPC_STAT, &ds) == 0) {
      const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
      const size_t rounded = (ds.shm_segsz + page - 1) / page * page;
      mmap(static_cast<char*>(p) + rounded, page, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    }
  }
  if (Mutant("destroy-on-child-exit") && getpid() != g_first_pid)
    Real<int (*)(int, int, struct shmid_ds*)>("shmctl")(id, IPC_RMID, nullptr);
  return p;
}

// fork-drops-attachments: the child starts without the parent's attachments.
pid_t fork() {
  const pid_t pid = Real<pid_t (*)()>("fork")();
  if (pid == 0 && Mutant("fork-drops-attachments")) {
    for (int i = 0; i < g_attached_count; ++i) shmdt(g_attached[i]);
  }
  return pid;
}

// munmap-noop: munmap reports success and unmaps nothing.
int munmap(void* addr, size_t length) {
  if (Mutant("munmap-noop")) return 0;
  return Real<int (*)(void*, size_t)>("munmap")(addr, length);
}

// private-is-shared: MAP_PRIVATE file mappings are made MAP_SHARED.
void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (Mutant("private-is-shared") && fd >= 0 && (flags & MAP_PRIVATE)) flags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
  return Real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(addr, length, prot, flags, fd, offset);
}

}  // extern "C"
