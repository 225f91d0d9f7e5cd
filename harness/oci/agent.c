/* shmconform-oci-agent: the in-container half of the container-semantics
 * scenarios (harness/oci/scenarios.py). Each command does one IPC operation
 * and prints what happened as one key=value line, with symbolic errno and
 * si_code names, so the harness can compare host and container views.
 *
 *   sysv-create KEY SIZE    shmget(KEY, SIZE, IPC_CREAT|IPC_EXCL|0600): id=N | errno=NAME
 *   sysv-lookup KEY         shmget(KEY, 0, 0): id=N | errno=NAME
 *   sysv-remove KEY         shmget + shmctl(IPC_RMID): removed=1 | errno=NAME
 *   posix-create NAME       shm_open(NAME, O_CREAT|O_EXCL|O_RDWR, 0600): created=1 | errno=NAME
 *   posix-lookup NAME       shm_open(NAME, O_RDONLY): found=1 | errno=NAME
 *   posix-remove NAME       shm_unlink(NAME): removed=1 | errno=NAME
 *   fill PATH BYTES         write BYTES to a new file: written=N [errno=NAME]
 *   map-store PATH BYTES    ftruncate to BYTES, map it shared, store to every page:
 *                           stored=N | sigbus=BUS_xxx offset=N
 *   sysctl NAME             /proc/sys/kernel/NAME: value=TEXT | errno=NAME
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

static int fail(void) {
  printf("errno=%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
  return 0;
}

static sigjmp_buf on_bus;
static volatile int bus_code;
static volatile size_t bus_offset;
static char *volatile map_base;

static void bus_handler(int sig, siginfo_t *info, void *ctx) {
  (void)sig;
  (void)ctx;
  bus_code = info->si_code;
  bus_offset = (size_t)((char *)info->si_addr - map_base);
  siglongjmp(on_bus, 1);
}

static const char *bus_name(int code) {
  switch (code) {
    case BUS_ADRALN: return "BUS_ADRALN";
    case BUS_ADRERR: return "BUS_ADRERR";
    case BUS_OBJERR: return "BUS_OBJERR";
    default: return "other";
  }
}

static int map_store(const char *path, size_t bytes) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0) return fail();
  char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail();
  map_base = p;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = bus_handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  long page = sysconf(_SC_PAGESIZE);
  if (sigsetjmp(on_bus, 1)) {
    printf("sigbus=%s offset=%zu\n", bus_name(bus_code), (size_t)bus_offset);
    return 0;
  }
  for (size_t off = 0; off < bytes; off += (size_t)page) p[off] = 1;
  printf("stored=%zu\n", bytes);
  return 0;
}

static int fill(const char *path, size_t bytes) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return fail();
  static char chunk[65536];
  memset(chunk, 1, sizeof chunk);
  size_t done = 0;
  while (done < bytes) {
    size_t n = bytes - done < sizeof chunk ? bytes - done : sizeof chunk;
    ssize_t w = write(fd, chunk, n);
    if (w < 0) {
      printf("written=%zu errno=%s\n", done, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
      return 0;
    }
    done += (size_t)w;
  }
  printf("written=%zu\n", done);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s COMMAND ARGS (see the source)\n", argv[0]);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "sysv-create") == 0 && argc == 4) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), strtoul(argv[3], NULL, 0), IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) return fail();
    printf("id=%d\n", id);
  } else if (strcmp(cmd, "sysv-lookup") == 0) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), 0, 0);
    if (id < 0) return fail();
    printf("id=%d\n", id);
  } else if (strcmp(cmd, "sysv-remove") == 0) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), 0, 0);
    if (id < 0 || shmctl(id, IPC_RMID, NULL) != 0) return fail();
    printf("removed=1\n");
  } else if (strcmp(cmd, "posix-create") == 0) {
    int fd = shm_open(argv[2], O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) return fail();
    printf("created=1\n");
  } else if (strcmp(cmd, "posix-lookup") == 0) {
    int fd = shm_open(argv[2], O_RDONLY, 0);
    if (fd < 0) return fail();
    printf("found=1\n");
  } else if (strcmp(cmd, "posix-remove") == 0) {
    if (shm_unlink(argv[2]) != 0) return fail();
    printf("removed=1\n");
  } else if (strcmp(cmd, "fill") == 0 && argc == 4) {
    return fill(argv[2], strtoul(argv[3], NULL, 0));
  } else if (strcmp(cmd, "map-store") == 0 && argc == 4) {
    return map_store(argv[2], strtoul(argv[3], NULL, 0));
  } else if (strcmp(cmd, "sysctl") == 0) {
    char path[256], value[256];
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", argv[2]);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(value, sizeof value, f)) return fail();
    value[strcspn(value, "\n")] = 0;
    printf("value=%s\n", value);
  } else {
    fprintf(stderr, "unknown command or arguments: %s\n", cmd);
    return 2;
  }
  return 0;
}
