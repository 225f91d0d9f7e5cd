/* shmconform-probe: what a target offers, printed as key=value lines, and
 * removal of SysV segments the suite left behind (busybox has no ipcrm).
 * Built static for each architecture by the harness; it reports what the
 * running (possibly emulated) system answers, not what the host has.
 *
 *   shmconform-probe env         uname, page size, SHMLBA, huge page sizes, libc, cpus
 *   shmconform-probe rmid ID...  shmctl(ID, IPC_RMID) each
 */
#include <dirent.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The huge page sizes the kernel offers (/sys/kernel/mm/hugepages/hugepages-<N>kB),
 * e.g. "2M,1G", and how many of the default size are free (HugePages_Free). */
static void print_huge_pages(void) {
  DIR *d = opendir("/sys/kernel/mm/hugepages");
  if (d == NULL) return;
  unsigned long sizes[16];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 16) {
    unsigned long kb;
    if (sscanf(e->d_name, "hugepages-%lukB", &kb) == 1) sizes[n++] = kb;
  }
  closedir(d);
  for (int i = 1; i < n; ++i) /* smallest first */
    for (int j = i; j > 0 && sizes[j - 1] > sizes[j]; --j) {
      unsigned long t = sizes[j];
      sizes[j] = sizes[j - 1];
      sizes[j - 1] = t;
    }
  if (n == 0) return;
  printf("huge_page_sizes=");
  for (int i = 0; i < n; ++i) {
    unsigned long kb = sizes[i];
    if (kb % (1024 * 1024) == 0)
      printf("%s%luG", i ? "," : "", kb / (1024 * 1024));
    else if (kb % 1024 == 0)
      printf("%s%luM", i ? "," : "", kb / 1024);
    else
      printf("%s%luK", i ? "," : "", kb);
  }
  printf("\n");
  FILE *f = fopen("/proc/meminfo", "r");
  if (f == NULL) return;
  char line[256];
  long free_pages;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1) printf("huge_pages_free=%ld\n", free_pages);
  fclose(f);
}

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
  print_huge_pages();
  printf("libc=glibc %s\n", gnu_get_libc_version());
  printf("cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
  printf("memory_bytes=%lld\n", (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
  return 0;
}
