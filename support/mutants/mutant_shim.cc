// An LD_PRELOAD library that breaks one documented behaviour at a time, chosen
// by $SHMCONFORM_MUTANT. harness/tests/test_mutants.py runs conformance tests
// under each mutant and requires them to FAIL: the proof that a test can see
// the behaviour it claims to check. Never used outside those tests.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <string>

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
int g_attached_ids[64];
int g_attached_count = 0;
pid_t g_first_pid = 0;

// Descriptors shm_open returned in this process, and their names, for the unlink mutant.
int g_shm_fds[64];
char g_shm_names[64][256];
int g_shm_fd_count = 0;

__attribute__((constructor)) void RememberFirstPid() { g_first_pid = getpid(); }

}  // namespace

extern "C" {

// excl-ignored: IPC_EXCL has no effect, so an existing key is opened.
// key-per-process: a key names a different segment in each process.
int shmget(key_t key, size_t size, int shmflg) {
  if (Mutant("excl-ignored")) shmflg &= ~IPC_EXCL;
  if (Mutant("key-per-process") && key != IPC_PRIVATE) key ^= static_cast<key_t>(getpid() & 0xffff);
  // next-id-ignored: the id asked for through /proc/sys/kernel/shm_next_id is not the one used
  // (the request is moved to the next index before the kernel sees it).
  if (Mutant("next-id-ignored")) {
    char text[24] = {};
    const int in = ::open("/proc/sys/kernel/shm_next_id", O_RDONLY | O_CLOEXEC);
    const long wanted = in >= 0 && read(in, text, sizeof text - 1) > 0 ? std::strtol(text, nullptr, 10) : -1;
    if (in >= 0) close(in);
    if (wanted >= 0) {
      const std::string other = std::to_string(wanted + 1);
      const int out = ::open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC);
      if (out >= 0) {
        (void)!write(out, other.data(), other.size());
        close(out);
      }
    }
  }
  const int id = Real<int (*)(key_t, size_t, int)>("shmget")(key, size, shmflg);
  // private-key-reused: IPC_PRIVATE hands out the first private segment again.
  static int first_private = -1;
  if (Mutant("private-key-reused") && key == IPC_PRIVATE && id >= 0) {
    if (first_private < 0) first_private = id;
    return first_private;
  }
  return id;
}

// ftok-ignores-id: the project id plays no part in the key.
// ftok-uses-high-id-bits: bits of the project id above the low 8 change the key.
// ftok-unstable: the same file and id give a new key on every call.
key_t ftok(const char* path, int id) {
  static int calls = 0;
  if (Mutant("ftok-ignores-id")) id = 1;
  if (Mutant("ftok-uses-high-id-bits") && (id & ~0xff)) id = (id & 0xff) ^ 0x80;
  const key_t key = Real<key_t (*)(const char*, int)>("ftok")(path, id);
  if (Mutant("ftok-unstable") && key != -1) return key ^ static_cast<key_t>(++calls << 8);
  return key;
}

// stat-segsz-rounded: IPC_STAT reports the page-rounded size.
// nattch-inflated: IPC_STAT counts one attachment too many (as if exec or exit
// had left one behind).
// rmid-ignored: IPC_RMID reports success and removes nothing.
// cap-ipc-owner-ignored: a privileged caller gets no more access than the mode gives its owner
// class (IPC_STAT and shmat of a segment whose mode grants nothing fail with EACCES).
static bool DeniedByModeAlone(int id) {
  struct shmid_ds ds {};
  return Mutant("cap-ipc-owner-ignored") &&
         Real<int (*)(int, int, struct shmid_ds*)>("shmctl")(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0;
}

int shmctl(int id, int cmd, struct shmid_ds* buf) {
  if (Mutant("rmid-ignored") && cmd == IPC_RMID) return 0;
  if (cmd == IPC_STAT && DeniedByModeAlone(id)) {
    errno = EACCES;
    return -1;
  }
  const int rc = Real<int (*)(int, int, struct shmid_ds*)>("shmctl")(id, cmd, buf);
  if (rc == 0 && cmd == IPC_STAT && buf) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    if (Mutant("stat-segsz-rounded")) buf->shm_segsz = (buf->shm_segsz + page - 1) / page * page;
    if (Mutant("nattch-inflated")) buf->shm_nattch += 1;
    // stat-mode-keeps-creat: shm_perm.mode keeps the IPC_CREAT bit of shmflg, not only the low 9 bits.
    if (Mutant("stat-mode-keeps-creat")) buf->shm_perm.mode |= IPC_CREAT;
  }
  return rc;
}

#if __TIMESIZE == 32
// glibc's shmctl for 64-bit time_t callers on 32-bit targets (_TIME_BITS=64, glibc 2.34 and
// later), which the shmctl above never sees. Its struct shmid_ds is spelled out here because this
// file keeps the default 32-bit time_t (its mmap and open must stay the 32-bit symbols).
struct ShmidDsTime64 {
  struct ipc_perm shm_perm;
  size_t shm_segsz;
  int64_t shm_atime;
  int64_t shm_dtime;
  int64_t shm_ctime;
  pid_t shm_cpid;
  pid_t shm_lpid;
  shmatt_t shm_nattch;
  unsigned long reserved5;
  unsigned long reserved6;
};

// time64-high-words-garbage: the high words of the times are not the ones the kernel wrote (as
// if the conversion took them from memory the kernel never filled): bit 32 of each time is set.
int __shmctl64(int id, int cmd, ShmidDsTime64* buf) {
  const int rc = Real<int (*)(int, int, ShmidDsTime64*)>("__shmctl64")(id, cmd, buf);
  if (rc >= 0 && buf && Mutant("time64-high-words-garbage") &&
      (cmd == IPC_STAT || cmd == SHM_STAT || cmd == SHM_STAT_ANY)) {
    for (int64_t* t : {&buf->shm_atime, &buf->shm_dtime, &buf->shm_ctime}) *t |= int64_t{1} << 32;
  }
  return rc;
}
#endif

// extra-page-after-segment: the page after an attachment is usable too.
// destroy-on-child-exit: an attachment made by a child process is marked for
// destruction, so the segment dies with the child.
// attach-readonly: every attachment is read-only.
// attach-rdonly-ignored: SHM_RDONLY attachments are writable.
// attach-exec-ignored: SHM_EXEC attachments are not executable.
// attach-addr-ignored: the address asked for is ignored, as if it were NULL.
// child-attach-returns-inherited: a child attaching a segment its parent had attached gets the
// inherited address back instead of a new attachment.
// attach-not-zeroed: a new attachment shows bytes nobody stored.
void* shmat(int id, const void* addr, int flg) {
  if (DeniedByModeAlone(id)) {
    errno = EACCES;
    return reinterpret_cast<void*>(-1);
  }
  // attach-moves-brk: attaching moves the program break.
  if (Mutant("attach-moves-brk")) (void)sbrk(static_cast<intptr_t>(sysconf(_SC_PAGESIZE)));
  if (Mutant("attach-readonly")) flg |= SHM_RDONLY;
  if (Mutant("attach-rdonly-ignored")) flg &= ~SHM_RDONLY;
  if (Mutant("attach-exec-ignored")) flg &= ~SHM_EXEC;
  if (Mutant("attach-addr-ignored")) addr = nullptr, flg &= ~(SHM_RND | SHM_REMAP);
  if (Mutant("child-attach-returns-inherited") && getpid() != g_first_pid && !addr) {
    for (int i = g_attached_count - 1; i >= 0; --i)
      if (g_attached_ids[i] == id) return g_attached[i];
  }
  if (Mutant("attach-not-zeroed")) {
    void* rw = Real<void* (*)(int, const void*, int)>("shmat")(id, nullptr, 0);
    struct shmid_ds ds {};
    if (rw != reinterpret_cast<void*>(-1) &&
        Real<int (*)(int, int, struct shmid_ds*)>("shmctl")(id, IPC_STAT, &ds) == 0)
      std::memset(rw, 0x5a, ds.shm_segsz);
    if (rw != reinterpret_cast<void*>(-1)) shmdt(rw);
  }
  void* p = Real<void* (*)(int, const void*, int)>("shmat")(id, addr, flg);
  if (p == reinterpret_cast<void*>(-1)) return p;
  if (g_attached_count < 64) {
    g_attached_ids[g_attached_count] = id;
    g_attached[g_attached_count++] = p;
  }
  if (Mutant("extra-page-after-segment")) {
    struct shmid_ds ds {};
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
// private-anon-is-shared: MAP_PRIVATE anonymous mappings are made MAP_SHARED.
// shared-is-private: MAP_SHARED mappings (file or anonymous) are made MAP_PRIVATE.
// prot-none-readable: PROT_NONE mappings are readable.
// anon-not-zeroed: a writable anonymous mapping shows bytes nobody stored.
// beyond-eof-backed: a file mapping past the end of its file extends the file, so no SIGBUS.
// shared-file-is-snapshot: a shared file mapping is a private copy of the file's contents at mmap
// time: stores reach neither the file nor other mappings, and later writes to the file do not show.
// private-file-is-anonymous: a private file mapping shows zeros, not the file.
// hint-is-fixed: an address hint is obeyed like MAP_FIXED, replacing what is there.
// read-only-is-writable: PROT_READ mappings are writable too.
static void* SnapshotOf(size_t length, int prot, int fd, off_t offset) {
  void* p = Real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(nullptr, length, PROT_READ | PROT_WRITE,
                                                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return p;
  (void)pread(fd, p, length, offset);
  mprotect(p, length, prot);
  return p;
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  const int type = flags & MAP_TYPE;
  if (Mutant("shared-file-is-snapshot") && fd >= 0 && (type & MAP_SHARED) && !(flags & MAP_FIXED))
    return SnapshotOf(length, prot, fd, offset);
  if (Mutant("private-file-is-anonymous") && fd >= 0 && type == MAP_PRIVATE) flags |= MAP_ANONYMOUS, fd = -1;
  if (Mutant("hint-is-fixed") && addr && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) flags |= MAP_FIXED;
  // fixed-is-hint: MAP_FIXED is taken as a hint: an occupied address is neither used nor replaced.
  if (Mutant("fixed-is-hint") && (flags & MAP_FIXED)) flags &= ~MAP_FIXED;
  if (Mutant("read-only-is-writable") && prot == PROT_READ) {
    void* p = Real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(addr, length, PROT_READ | PROT_WRITE, flags,
                                                                           fd, offset);
    if (p != MAP_FAILED) return p;
  }
  if (Mutant("private-is-shared") && fd >= 0 && (flags & MAP_PRIVATE)) flags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
  if (Mutant("private-anon-is-shared") && (flags & MAP_ANONYMOUS) && type == MAP_PRIVATE)
    flags = (flags & ~MAP_TYPE) | MAP_SHARED;
  if (Mutant("shared-is-private") && type == MAP_SHARED) flags = (flags & ~MAP_TYPE) | MAP_PRIVATE;
  if (Mutant("prot-none-readable") && prot == PROT_NONE) prot = PROT_READ;
  if (Mutant("beyond-eof-backed") && fd >= 0) {
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < offset + static_cast<off_t>(length))
      (void)ftruncate(fd, offset + static_cast<off_t>(length));
  }
  void* p = Real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(addr, length, prot, flags, fd, offset);
  if (Mutant("anon-not-zeroed") && p != MAP_FAILED && (flags & MAP_ANONYMOUS) && (prot & PROT_WRITE))
    std::memset(p, 0x5a, length);
  return p;
}

// mremap-dontunmap-ignored: MREMAP_DONTUNMAP moves the pages and unmaps the old range like a plain move.
void* mremap(void* old_address, size_t old_size, size_t new_size, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  void* new_address = va_arg(ap, void*);
  va_end(ap);
  if (Mutant("mremap-dontunmap-ignored")) flags &= ~MREMAP_DONTUNMAP;
  void* p =
      Real<void* (*)(void*, size_t, size_t, int, ...)>("mremap")(old_address, old_size, new_size, flags, new_address);
  // mremap-moved-is-private-copy: a mapping mremap moves (or duplicates, old_size 0) becomes a
  // private anonymous copy of what the old one held: no longer shared with the file, the other
  // mappings or the object, and no SIGBUS past the object's end.
  if (Mutant("mremap-moved-is-private-copy") && p != MAP_FAILED && p != old_address) {
    const size_t keep = old_size && old_size < new_size ? old_size : (old_size ? new_size : 0);
    void* copy = keep ? std::malloc(keep) : nullptr;
    if (copy) std::memcpy(copy, p, keep);
    Real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(p, new_size, PROT_READ | PROT_WRITE,
                                                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (copy) std::memcpy(p, copy, keep);
    std::free(copy);
  }
  return p;
}

// ns-kept-alive: opening an IPC namespace file leaks a second descriptor, so the namespace
// (and every segment in it) outlives its last user.
static int OpenKeepingNamespaces(const char* symbol, const char* path, int flags, mode_t mode) {
  const int fd = Real<int (*)(const char*, int, ...)>(symbol)(path, flags, mode);
  if (fd >= 0 && Mutant("ns-kept-alive") && std::strstr(path, "/ns/ipc")) (void)dup(fd);
  return fd;
}

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? static_cast<mode_t>(va_arg(ap, int)) : 0;
  va_end(ap);
  return OpenKeepingNamespaces("open", path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? static_cast<mode_t>(va_arg(ap, int)) : 0;
  va_end(ap);
  return OpenKeepingNamespaces("open64", path, flags, mode);
}

// dontneed-zeroes-shared: MADV_DONTNEED discards the data of shared mappings too.
int madvise(void* addr, size_t length, int advice) {
  if (Mutant("dontneed-zeroes-shared") && advice == MADV_DONTNEED) std::memset(addr, 0, length);
  return Real<int (*)(void*, size_t, int)>("madvise")(addr, length, advice);
}

// shm-open-create-nonempty: a new POSIX shm object starts one page long.
// shm-open-foreign-owner: a new POSIX shm object belongs to nobody (65534).
// shm-open-accepts-any-name: names the C library refuses ("", "/", "a/b", no leading slash) are made valid.
int shm_open(const char* name, int oflag, mode_t mode) {
  std::string fixed;
  if (Mutant("shm-open-accepts-any-name") && (name[0] != '/' || std::strchr(name + 1, '/') || !name[1])) {
    fixed = std::string("/shmconform-mutant.") + (name[0] == '/' ? name + 1 : name);
    for (size_t i = 1; i < fixed.size(); ++i)
      if (fixed[i] == '/') fixed[i] = '_';
    name = fixed.c_str();
  }
  const int fd = Real<int (*)(const char*, int, mode_t)>("shm_open")(name, oflag, mode);
  if (fd >= 0 && g_shm_fd_count < 64) {
    g_shm_fds[g_shm_fd_count] = fd;
    std::strncpy(g_shm_names[g_shm_fd_count++], name, sizeof g_shm_names[0] - 1);
  }
  if (fd >= 0 && (oflag & O_CREAT)) {
    if (Mutant("shm-open-create-nonempty")) (void)ftruncate(fd, sysconf(_SC_PAGESIZE));
    if (Mutant("shm-open-foreign-owner")) (void)fchown(fd, 65534, 65534);
    // shm-open-mode-ignored: the new object's mode is not the one asked for.
    if (Mutant("shm-open-mode-ignored")) (void)fchmod(fd, (mode ^ 0070) & 0777);
  }
  return fd;
}

// shm-unlink-truncates: removing the name also empties the object its open descriptors use.
// shm-unlink-detaches-fds: removing the name also takes the object from the descriptors opened
// by that name (they now reach a new, empty object); mappings keep the old one.
int shm_unlink(const char* name) {
  if (Mutant("shm-unlink-detaches-fds")) {
    for (int i = 0; i < g_shm_fd_count; ++i) {
      if (std::strcmp(g_shm_names[i], name) != 0) continue;
      const int fresh = memfd_create("shmconform-mutant", 0);
      if (fresh >= 0) {
        dup2(fresh, g_shm_fds[i]);
        close(fresh);
      }
    }
  }
  if (Mutant("shm-unlink-truncates")) {
    const int fd = Real<int (*)(const char*, int, mode_t)>("shm_open")(name, O_RDWR, 0);
    if (fd >= 0) {
      (void)ftruncate(fd, 0);
      close(fd);
    }
  }
  return Real<int (*)(const char*)>("shm_unlink")(name);
}

}  // extern "C"
