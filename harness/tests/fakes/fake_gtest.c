/* A stand-in for a GoogleTest binary, to prove the harness's robustness.
 * It speaks gtest's console format and --gtest_output=json:PATH, honours the
 * negative part of --gtest_filter, and its behaviour comes from its name:
 *   *-fake      Fake.Passes, Fake.Fails, Fake.Skips
 *   *-hang      Fake.Before, Fake.Hangs (never returns), Fake.After
 *   *-crash     Fake.Before, Fake.Crashes (SIGSEGV), Fake.After
 *   *-garbage   prints garbage, writes no report, exits 0
 *   *-leak      Fake.LeaksSegment: leaves a SysV segment (suite key) and a /dev/shm name
 *   *-panic     Fake.Before, Fake.PanicsKernel, Fake.After: only when the kernel command
 *               line has shmconform.fake_panic (a VM the test booted), else it just passes
 *   *-taint     Fake.TaintsKernel: sets taint bit 9 (WARN) under the same guard
 * Never harmful on the host: panic/taint need the guard on /proc/cmdline. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *filter_neg = "";
static FILE *json;
static int first_case = 1;

static int excluded(const char *name) {
  const char *p = filter_neg;
  size_t n = strlen(name);
  while (*p) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return 1;
    p += len + (end ? 1 : 0);
  }
  return 0;
}

static int guarded(void) {
  char buf[4096] = {0};
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && strstr(buf, "shmconform.fake_panic") != NULL;
}

static void record(const char *name, const char *result, const char *failure) {
  if (!json) return;
  fprintf(json, "%s{\"name\":\"%s\",\"status\":\"RUN\",\"result\":\"%s\",\"time\":\"0.001s\","
          "\"classname\":\"Fake\",\"requirements\":\"FAKE.REQ.ONE\"%s%s%s}",
          first_case ? "" : ",", name, result, failure ? ",\"failures\":[{\"failure\":\"" : "",
          failure ? failure : "", failure ? "\",\"type\":\"\"}]" : "");
  first_case = 0;
}

static int listing;

static void run(const char *name, int (*body)(void)) {
  char full[128];
  if (listing) {
    printf("  %s\n", name);
    return;
  }
  snprintf(full, sizeof full, "Fake.%s", name);
  if (excluded(full)) return;
  printf("[ RUN      ] %s\n", full);
  fflush(stdout);
  int r = body();
  if (r == 0) { printf("[       OK ] %s (1 ms)\n", full); record(name, "COMPLETED", NULL); }
  else if (r == 1) { printf("fake.c:1: Failure\nExpected: 1\n  Actual: 2\n[  FAILED  ] %s (1 ms)\n", full);
                     record(name, "COMPLETED", "Expected: 1\\n  Actual: 2"); }
  else { printf("fake.c:1: Skipped\nno reason\n[  SKIPPED ] %s (0 ms)\n", full); record(name, "SKIPPED", NULL); }
  fflush(stdout);
}

static int pass(void) { return 0; }
static int fail(void) { return 1; }
static int skip(void) { return 2; }
static int hang(void) {
  printf("about to hang\n");
  fflush(stdout);
  for (;;) pause();
  return 0;
}
static int crash(void) { printf("about to crash\n"); fflush(stdout); raise(SIGSEGV); return 0; }
static int leak(void) {
  key_t key = (key_t)(0x5c000000u | ((unsigned)getpid() & 0xffffffu));
  if (shmget(key, 4096, IPC_CREAT | 0600) < 0) return 1;
  const char *run = getenv("SHMCONFORM_RUN_ID");
  char path[256];
  snprintf(path, sizeof path, "/dev/shm/shmconform.%s.fake-leak", run ? run : "none");
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  if (fd >= 0) close(fd);
  return 0;
}
static int panic_kernel(void) {
  if (!guarded()) return 0;
  sync();
  sleep(1); /* let the serial port drain: a panic drops what the tty has not sent */
  int fd = open("/proc/sysrq-trigger", O_WRONLY);
  if (fd >= 0 && write(fd, "c", 1) == 1) sleep(5);
  return 1;
}
static int taint_kernel(void) {
  if (!guarded()) return 0;
  int fd = open("/proc/sys/kernel/tainted", O_WRONLY);
  return fd >= 0 && write(fd, "512", 3) == 3 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *me = strrchr(argv[0], '-');
  me = me ? me + 1 : argv[0];
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--gtest_list_tests") == 0) listing = 1;
    if (strncmp(argv[i], "--gtest_output=json:", 20) == 0) json = fopen(argv[i] + 20, "w");
    if (strncmp(argv[i], "--gtest_filter=", 15) == 0) {
      const char *dash = strchr(argv[i] + 15, '-');
      if (dash) filter_neg = dash + 1;
    }
  }
  if (strcmp(me, "garbage") == 0) {
    printf("\x01\x02 this is not gtest {{{\n");
    if (json) { fclose(json); unlink(strchr(argv[1], ':') + 1); }
    return 0;
  }
  printf(listing ? "Fake.\n" : "[==========] Running tests.\n");
  if (json) fprintf(json, "{\"tests\":3,\"testsuites\":[{\"name\":\"Fake\",\"testsuite\":[");
  if (strcmp(me, "fake") == 0) { run("Passes", pass); run("Fails", fail); run("Skips", skip); }
  else if (strcmp(me, "hang") == 0) { run("Before", pass); run("Hangs", hang); run("After", pass); }
  else if (strcmp(me, "crash") == 0) { run("Before", pass); run("Crashes", crash); run("After", pass); }
  else if (strcmp(me, "leak") == 0) { run("LeaksSegment", leak); }
  else if (strcmp(me, "panic") == 0) { run("Before", pass); run("PanicsKernel", panic_kernel); run("After", pass); }
  else if (strcmp(me, "taint") == 0) { run("TaintsKernel", taint_kernel); run("After", pass); }
  if (json) { fprintf(json, "]}]}\n"); fclose(json); }
  if (!listing) printf("[==========] 3 tests from 1 test suite ran. (1 ms total)\n");
  return 0;
}
