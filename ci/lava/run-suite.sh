#!/bin/sh
# shmconform on a LAVA device: every GoogleTest case of every conformance
# binary becomes one LAVA test case (Lava-Test Test Definition 1.0 helpers).
#
#   run-suite.sh SUITE [SUITE_URL] [FILTER] [BINARY_TIMEOUT] [LABELS] [TEST_TIMEOUT]
#
# SUITE           directory holding bin/conformance-* (static binaries), e.g. the
#                 job's overlay (/shmconform) or where SUITE_URL is unpacked
# SUITE_URL       optional http(s) URL of a .tar.gz with bin/conformance-*,
#                 fetched with wget or curl and unpacked into SUITE
# FILTER          optional gtest filter (POSITIVE[-NEGATIVE]) for every binary
# BINARY_TIMEOUT  seconds one binary may run before it is killed (default 900)
# LABELS          optional KEY=VALUE words echoed into the log (the job writer
#                 passes kernel=, device_type=, arch=) so a job log alone says
#                 what ran where
# TEST_TIMEOUT    seconds without a new test (a gtest RUN/OK/FAILED/SKIPPED
#                 line) before the binary is killed as hung (default 300; 0: none)
#
# Only POSIX sh, awk, grep, tee, sleep, setsid and mount are used: busybox
# alone is enough (a ramdisk), a full root file system works the same way.
#
# Per binary: `lava-test-set start BINARY`, one `lava-test-case CASE --result
# pass|fail|skip --measurement SECONDS --units seconds` per test, `lava-test-set
# stop`. CASE is the gtest name with every character outside [A-Za-z0-9_.]
# written as -XX (its hex code): LAVA accepts the result, the importer
# (harness/lava/names.py) reverses it. A binary that crashes or hangs: the
# running test is reported as fail, a @@SHMCONFORM-CRASH line says why, and
# the binary runs again without the tests that already have a verdict.
# Lines starting with @@SHMCONFORM- are for `shmconform lava import`.
# A file SUITE/filters ("BINARY FILTER" per line), when present, names the
# binaries to run and each one's filter (the harness's lava: target uses it).

SUITE=${1:-/shmconform}
SUITE_URL=${2:-}
FILTER=${3:-}
BINARY_TIMEOUT=${4:-900}
LABELS=${5:-}
TEST_TIMEOUT=${6:-300}
MAX_ROUNDS=8

say() { echo "@@SHMCONFORM-$*"; }

# The LAVA helpers are on PATH inside a LAVA test shell; outside LAVA (a dry
# run on a workstation) print what they would have been given.
if command -v lava-test-case >/dev/null 2>&1; then
  tc() { lava-test-case "$@" < /dev/null; }
  tset() { lava-test-set "$@" < /dev/null; }
else
  tc() { echo "lava-test-case $*"; }
  tset() { echo "lava-test-set $*"; }
fi

fetch_suite() {
  mkdir -p "$SUITE" || return 1
  tgz=${TMPDIR:-/tmp}/shmconform-suite.tar.gz
  if command -v wget >/dev/null 2>&1; then
    wget -q -O "$tgz" "$SUITE_URL" || return 1
  elif command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$tgz" "$SUITE_URL" || return 1
  else
    echo "shmconform: neither wget nor curl to fetch $SUITE_URL" >&2
    return 1
  fi
  gzip -dc "$tgz" | tar -C "$SUITE" -xf - && rm -f "$tgz"
}

# A ramdisk may lack the file systems the tests need; a full root fs has them.
prepare_guest() {
  [ "$(id -u)" = 0 ] || return 0
  grep -q ' /proc ' /proc/mounts 2>/dev/null || mount -t proc proc /proc
  mkdir -p /dev/shm /tmp
  grep -q ' /dev/shm ' /proc/mounts || mount -t tmpfs shm /dev/shm
}

# A tick: a fifth of a second where sleep takes fractions (busybox, coreutils), else one.
if sleep 0.2 2>/dev/null; then TICK=0.2 PER_SECOND=5; else TICK=1 PER_SECOND=1; fi
command -v setsid >/dev/null 2>&1 && SETSID=setsid || SETSID=

# run_watched ARGV...: run one binary, its output to $work/out and the console.
# It is killed (with its process group) when no test started or ended for
# TEST_TIMEOUT seconds, or after BINARY_TIMEOUT seconds. Sets rc, and hung to
# why it was killed ("" when it was not).
run_watched() {
  rm -f "$work/rc" "$work/pid"
  : > "$work/out"
  { $SETSID sh -c 'echo $$ > "$0"; exec "$@"' "$work/pid" "$@" 2>&1; echo $? > "$work/rc"; } < /dev/null |
    tee "$work/out" &
  bg=$!
  last=-1 idle=0 ticks=0 hung=
  while [ ! -f "$work/rc" ]; do
    sleep "$TICK"
    ticks=$((ticks + 1)) idle=$((idle + 1))
    n=$(grep -c -E '^\[ +(RUN|OK|FAILED|SKIPPED) +\]' "$work/out" 2>/dev/null)
    [ "$n" = "$last" ] || { last=$n; idle=0; }
    if [ "$TEST_TIMEOUT" -gt 0 ] && [ "$idle" -ge $((TEST_TIMEOUT * PER_SECOND)) ]; then
      hung="hung: no test started or ended for $TEST_TIMEOUT s"
    elif [ "$ticks" -ge $((BINARY_TIMEOUT * PER_SECOND)) ]; then
      hung="hung: killed after $BINARY_TIMEOUT s"
    fi
    if [ -n "$hung" ]; then
      p=$(cat "$work/pid" 2>/dev/null)
      [ -n "$p" ] && { kill -9 -"$p" 2>/dev/null || kill -9 "$p" 2>/dev/null; }
      break
    fi
  done
  wait "$bg"
  rc=$(cat "$work/rc" 2>/dev/null || echo 255)
}

# gtest console -> "STATUS SECONDS CASE NAME" per finished test (CASE: the
# LAVA case name of the gtest NAME), "running 0 CASE NAME" for a test started
# but never finished, "completed 0 - -" when gtest printed its last summary.
# A verdict counts only for the test that is running (the closing summary
# repeats FAILED/SKIPPED names without a time). One awk for all: on an
# emulated CPU every extra process per test costs.
verdicts() {
  awk '
    BEGIN { for (i = 32; i < 127; i++) code[sprintf("%c", i)] = i }
    function name_of(s) { sub(/,.*/, "", s); sub(/ .*/, "", s); return s }
    # Reversible LAVA case name: [A-Za-z0-9_.] kept, anything else -XX (hex).
    function case_of(s,   out, i, c) {
      out = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c ~ /[A-Za-z0-9_.]/) out = out c
        else out = out sprintf("-%02X", code[c])
      }
      return out
    }
    /^\[ RUN      \] / { cur = name_of(substr($0, 14)); next }
    /^\[       OK \] |^\[  FAILED  \] |^\[  SKIPPED \] / {
      n = name_of(substr($0, 14))
      if (cur == "" || n != cur) next
      ms = 0
      if (match($0, /\([0-9]+ ms\)$/)) ms = substr($0, RSTART + 1, RLENGTH - 5) + 0
      st = ($0 ~ /^\[       OK/) ? "pass" : ($0 ~ /^\[  FAILED/) ? "fail" : "skip"
      printf "%s %.3f %s %s\n", st, ms / 1000, case_of(n), n
      cur = ""
      next
    }
    /^\[==========\] [0-9]+ tests? from [0-9]+ test (suites?|cases?) ran\./ { done = 1 }
    END { if (cur != "") print "running 0", case_of(cur), cur; if (done) print "completed 0 - -" }
  ' "$1"
}

# The LAVA case name of one name (the binary's own case when it did not run).
case_name() {
  printf '[ RUN      ] %s\n[       OK ] %s (0 ms)\n' "$1" "$1" > "$work/one"
  verdicts "$work/one" | awk '{ print $3 }'
}

run_binary() {  # run_binary PATH FILTER
  bin=$1 name=$(basename "$1") pos=${2:-*} neg=
  case "$pos" in *-*) neg=${pos#*-}; pos=${pos%%-*} ;; esac
  [ -n "$pos" ] || pos='*'
  work=${TMPDIR:-/tmp}/shmconform-lava.$$
  mkdir -p "$work"
  tset start "$name"
  round=0 verdicts_seen=0
  while [ "$round" -lt "$MAX_ROUNDS" ]; do
    round=$((round + 1))
    filter=$pos
    [ -n "$neg" ] && filter="$pos-$neg"
    say "BEGIN $name round=$round filter=$filter"
    run_watched "$bin" --gtest_color=no "--gtest_filter=$filter"
    say "END $name rc=$rc"
    verdicts "$work/out" > "$work/verdicts"
    completed=no running= running_case=
    while read -r st secs case tname; do
      case "$st" in
        completed) completed=yes ;;
        running) running=$tname running_case=$case ;;
        *) tc "$case" --result "$st" --measurement "$secs" --units seconds
           verdicts_seen=$((verdicts_seen + 1))
           neg="${neg:+$neg:}$tname" ;;
      esac
    done < "$work/verdicts"
    if [ -n "$running" ]; then
      why=${hung:-"the test binary died while this test ran: exit status $rc"}
      say "CRASH $name $running $why"
      tc "$running_case" --result fail
      verdicts_seen=$((verdicts_seen + 1))
      neg="${neg:+$neg:}$running"
      continue
    fi
    if [ "$completed" = no ] || { [ "$rc" != 0 ] && [ "$rc" != 1 ]; }; then
      if [ "$verdicts_seen" = 0 ]; then
        say "CRASH $name - did not run as a GoogleTest binary: exit status $rc"
        tc "$(case_name "$name")" --result fail
      fi
    fi
    break
  done
  tset stop
  rm -rf "$work"
}

main() {
  if [ -n "$SUITE_URL" ]; then
    fetch_suite || { echo "shmconform: cannot fetch the suite from $SUITE_URL" >&2; exit 1; }
  fi
  prepare_guest
  for label in $LABELS; do say "LABEL $label"; done
  if [ -x "$SUITE/bin/shmconform-probe" ]; then
    "$SUITE/bin/shmconform-probe" env 2>/dev/null | while IFS= read -r line; do say "ENV $line"; done
  else
    say "ENV kernel_release=$(uname -r)"
    say "ENV arch=$(uname -m)"
  fi
  found=no
  if [ -f "$SUITE/filters" ]; then
    while read -r bname bfilter; do
      [ -n "$bname" ] || continue
      found=yes
      run_binary "$SUITE/bin/$bname" "$bfilter"
    done < "$SUITE/filters"
  else
    for bin in "$SUITE"/bin/conformance-*; do
      [ -x "$bin" ] || continue
      found=yes
      run_binary "$bin" "$FILTER"
    done
  fi
  if [ "$found" = no ]; then
    echo "shmconform: no conformance binaries in $SUITE/bin" >&2
    exit 1
  fi
  say "FINISHED"
}

main
