/* A stand-in for a GoogleTest binary, to prove the harness's robustness.
 * It speaks gtest's console format and --gtest_output=json:PATH, implements
 * --shmconform_list (the suite's listing contract: one JSON object, no test run),
 * honours the negative part of --gtest_filter, and its behaviour comes from its name:
 *   *-fake      Fake.Passes, Fake.Fails, Fake.Skips (FAKE.REQ.ONE, FAKE.REQ.ONE, FAKE.REQ.TWO)
 *   *-params    Sizes/Fake.Param/0 and /1 (FAKE.REQ.P0, FAKE.REQ.P1; gtest property "variant"
 *               libc and raw, the /1 that fails raw), Fake.Untagged (no id)
 *   *-listhang  Fake.Passes, but its --shmconform_list never returns
 *   *-hang      Fake.Before, Fake.Hangs (never returns), Fake.After
 *   *-crash     Fake.Before, Fake.Crashes (SIGSEGV), Fake.After
 *   *-garbage   prints garbage, writes no report, exits 0
 *   *-leak      Fake.LeaksSegment: leaves a SysV segment (suite key) and a /dev/shm name
 *   *-panic     Fake.Before, Fake.PanicsKernel, Fake.After: only when the kernel command
 *               line has shmconform.fake_panic (a VM the test booted), else it just passes
 *   *-taint     Fake.Before, Fake.TaintsKernel, Fake.After: TaintsKernel logs a kernel WARNING line
 *               and sets taint bit 9 (W) under the same guard, or, where the harness's
 *               tests name a stand-in kernel ($SHMCONFORM_FAKE_KERNEL=DIR), in DIR/kmsg
 *               and DIR/tainted instead
 * Like the suite's gtest main (support/src/main.cc), it marks each test's start as
 * "shmconform: test NAME" in the log $SHMCONFORM_KMSG names, only when set, and only where it
 * may write a kernel log at all (guarded VM, stand-in).
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

/* One JSON test object; a parameterised "Sizes/Fake.Param/0" is suite "Sizes/Fake", name "Param/0".
 * Like gtest, it writes the test's RecordProperty() values as more keys: "requirements" (as the
 * suite's REQUIREMENTS() does) and "variant" when the test has one. */
static void record(const char *full, const char *reqs, const char *variant, const char *result, const char *failure) {
  if (!json) return;
  const char *dot = strchr(full, '.');
  fprintf(json,
          "%s{\"name\":\"%s\",\"status\":\"RUN\",\"result\":\"%s\",\"time\":\"0.001s\","
          "\"classname\":\"%.*s\"%s%s%s",
          first_case ? "" : ",", dot + 1, result, (int)(dot - full), full,
          failure ? ",\"failures\":[{\"failure\":\"" : "", failure ? failure : "", failure ? "\",\"type\":\"\"}]" : "");
  if (reqs[0]) fprintf(json, ",\"requirements\":\"%s\"", reqs);
  if (variant) fprintf(json, ",\"variant\":\"%s\"", variant);
  fprintf(json, "}");
  first_case = 0;
}

static int shm_listing;         /* --shmconform_list */
static char kmsg_path[512];     /* where a kernel log takes lines ("" when the fake must not touch it) */
static const char *marker_path; /* $SHMCONFORM_KMSG: where each test's start is marked (NULL: nowhere) */

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_APPEND);
  int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  if (fd >= 0) close(fd);
  return ok;
}
static const char *binary_name;

/* reqs: the test's requirement ids, comma-separated ("" for none); variant: its gtest property or NULL. */
static void run_test(const char *full, const char *reqs, const char *variant, int line, int (*body)(void)) {
  if (excluded(full)) return;
  if (shm_listing) {
    printf("%s{\"name\":\"%s\",\"requirements\":[", first_case ? "" : ",", full);
    for (const char *p = reqs; *p;) {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      printf("%s\"%.*s\"", p == reqs ? "" : ",", (int)len, p);
      p += len + (end ? 1 : 0);
    }
    printf("],\"file\":\"harness/tests/fakes/fake_gtest.c\",\"line\":%d}", line);
    first_case = 0;
    return;
  }
  if (marker_path) { /* the optional per-test kernel-log marker the harness reads */
    char line[256];
    snprintf(line, sizeof line, "<5>shmconform: test %s\n", full);
    write_file(marker_path, line);
  }
  printf("[ RUN      ] %s\n", full);
  fflush(stdout);
  int r = body();
  if (r == 0) {
    printf("[       OK ] %s (1 ms)\n", full);
    record(full, reqs, variant, "COMPLETED", NULL);
  } else if (r == 1) {
    printf("fake.c:1: Failure\nExpected: 1\n  Actual: 2\n[  FAILED  ] %s (1 ms)\n", full);
    record(full, reqs, variant, "COMPLETED", "Expected: 1\\n  Actual: 2");
  } else {
    printf("fake.c:1: Skipped\nno reason\n[  SKIPPED ] %s (0 ms)\n", full);
    record(full, reqs, variant, "SKIPPED", NULL);
  }
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
static int crash(void) {
  printf("about to crash\n");
  fflush(stdout);
  raise(SIGSEGV);
  return 0;
}
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
  static const char warning[] = "<4>WARNING: CPU: 0 PID: 1 at fake_gtest.c:1 taint_kernel+0x0/0x10 [fake]\n";
  const char *stand_in = getenv("SHMCONFORM_FAKE_KERNEL");
  char tainted[512];
  if (stand_in) {
    snprintf(tainted, sizeof tainted, "%s/tainted", stand_in);
    int fd = open(tainted, O_WRONLY | O_TRUNC);
    if (fd >= 0) close(fd);
  } else if (guarded()) {
    snprintf(tainted, sizeof tainted, "/proc/sys/kernel/tainted");
  } else {
    return 0;
  }
  printf("about to taint the kernel\n");
  fflush(stdout);
  write_file(kmsg_path, warning);
  return write_file(tainted, "512\n") ? 0 : 1;
}

#define RUN(full, reqs, body) run_test(full, reqs, NULL, __LINE__, body)
#define RUN_VARIANT(full, reqs, variant, body) run_test(full, reqs, variant, __LINE__, body)

int main(int argc, char **argv) {
  const char *me = strrchr(argv[0], '-');
  me = me ? me + 1 : argv[0];
  binary_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--shmconform_list") == 0) shm_listing = 1;
    if (strncmp(argv[i], "--gtest_output=json:", 20) == 0) json = fopen(argv[i] + 20, "w");
    if (strncmp(argv[i], "--gtest_filter=", 15) == 0) {
      const char *dash = strchr(argv[i] + 15, '-');
      if (dash) filter_neg = dash + 1;
    }
  }
  if (getenv("SHMCONFORM_FAKE_KERNEL"))
    snprintf(kmsg_path, sizeof kmsg_path, "%s/kmsg", getenv("SHMCONFORM_FAKE_KERNEL"));
  else if (guarded())
    snprintf(kmsg_path, sizeof kmsg_path, "/dev/kmsg");
  if (kmsg_path[0] && getenv("SHMCONFORM_KMSG") && getenv("SHMCONFORM_KMSG")[0])
    marker_path = getenv("SHMCONFORM_KMSG");
  if (shm_listing && strcmp(me, "listhang") == 0) {
    for (;;) pause();
  }
  if (shm_listing) printf("{\"schema\":1,\"binary\":\"%s\",\"tests\":[", binary_name);
  if (strcmp(me, "garbage") == 0 && !shm_listing) {
    printf("\x01\x02 this is not gtest {{{\n");
    if (json) {
      fclose(json);
      unlink(strchr(argv[1], ':') + 1);
    }
    return 0;
  }
  if (!shm_listing) printf("[==========] Running tests.\n");
  /* One suite object in the JSON report, even for the parameterised names: the harness reads classname. */
  if (json && !shm_listing) fprintf(json, "{\"tests\":3,\"testsuites\":[{\"name\":\"Fake\",\"testsuite\":[");
  if (strcmp(me, "fake") == 0) {
    RUN("Fake.Passes", "FAKE.REQ.ONE", pass);
    RUN("Fake.Fails", "FAKE.REQ.ONE", fail);
    RUN("Fake.Skips", "FAKE.REQ.TWO", skip);
  } else if (strcmp(me, "params") == 0) {
    RUN_VARIANT("Sizes/Fake.Param/0", "FAKE.REQ.P0", "libc", pass);
    RUN_VARIANT("Sizes/Fake.Param/1", "FAKE.REQ.P1", "raw", fail);
    RUN("Fake.Untagged", "", pass);
  } else if (strcmp(me, "listhang") == 0) {
    RUN("Fake.Passes", "FAKE.REQ.ONE", pass);
  } else if (strcmp(me, "hang") == 0) {
    RUN("Fake.Before", "FAKE.REQ.ONE", pass);
    RUN("Fake.Hangs", "FAKE.REQ.ONE", hang);
    RUN("Fake.After", "FAKE.REQ.ONE", pass);
  } else if (strcmp(me, "crash") == 0) {
    RUN("Fake.Before", "FAKE.REQ.ONE", pass);
    RUN("Fake.Crashes", "FAKE.REQ.ONE", crash);
    RUN("Fake.After", "FAKE.REQ.ONE", pass);
  } else if (strcmp(me, "leak") == 0) {
    RUN("Fake.LeaksSegment", "FAKE.REQ.ONE", leak);
  } else if (strcmp(me, "panic") == 0) {
    RUN("Fake.Before", "FAKE.REQ.ONE", pass);
    RUN("Fake.PanicsKernel", "FAKE.REQ.ONE", panic_kernel);
    RUN("Fake.After", "FAKE.REQ.ONE", pass);
  } else if (strcmp(me, "taint") == 0) {
    RUN("Fake.Before", "FAKE.REQ.ONE", pass);
    RUN("Fake.TaintsKernel", "FAKE.REQ.ONE", taint_kernel);
    RUN("Fake.After", "FAKE.REQ.ONE", pass);
  }
  if (shm_listing) {
    printf("]}\n");
    return 0;
  }
  if (json) {
    fprintf(json, "]}]}\n");
    fclose(json);
  }
  printf("[==========] 3 tests from 1 test suite ran. (1 ms total)\n");
  return 0;
}
