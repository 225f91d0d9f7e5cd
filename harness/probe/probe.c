/* shmconform-probe: what a target offers, printed as key=value lines, and
 * removal of SysV segments the suite left behind (busybox has no ipcrm).
 * Built static for each architecture by the harness; it reports what the
 * running (possibly emulated) system answers, not what the host has.
 *
 *   shmconform-probe env         uname, page size, SHMLBA, libc, cpus
 *   shmconform-probe rmid ID...  shmctl(ID, IPC_RMID) each
 */
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "rmid") == 0) {
    int rc = 0;
    for (int i = 2; i < argc; ++i) {
      if (shmctl(atoi(argv[i]), IPC_RMID, NULL) != 0) {
        perror("shmctl(IPC_RMID)");
        rc = 1;
      }
    }
    return rc;
  }
  if (argc != 2 || strcmp(argv[1], "env") != 0) {
    fprintf(stderr, "usage: %s env | rmid ID...\n", argv[0]);
    return 2;
  }
  struct utsname u;
  if (uname(&u) == 0) {
    printf("kernel_release=%s\nkernel_version=%s\narch=%s\n", u.release, u.version, u.machine);
  }
  printf("page_size=%ld\n", sysconf(_SC_PAGESIZE));
  printf("shmlba=%ld\n", (long)SHMLBA);
  printf("libc=glibc %s\n", gnu_get_libc_version());
  printf("cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
  printf("memory_bytes=%lld\n", (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
  return 0;
}
