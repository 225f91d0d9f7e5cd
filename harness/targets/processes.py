"""Running a child of the harness and reporting its fate: every child gets its
own process group, a time limit, and is killed with its group when the harness
is stopped (kill_all), when a round script left stragglers behind, and when the
harness itself dies, even by SIGKILL: a reaper process watches a pipe only the
harness holds, and kills the child's group (and the groups the round script
recorded) when that pipe closes without a word."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import threading
import time

from harness.targets.base import TargetError

# The reaper: "done" on stdin means the child ended normally; end of file means
# the harness died, so the child's group ($1) and the round script's recorded
# groups ($2/*.pid, the invocations still running) are killed.
_REAPER = r"""
read -r word
[ "$word" = done ] && exit 0
kill -9 -"$1" 2>/dev/null
[ -n "$2" ] || exit 0
for f in "$2"/*.pid; do
  [ -f "$f" ] && kill -9 -"$(cat "$f")" 2>/dev/null
done
exit 0
"""

# Every child process group the harness started, so a signal can end them all.
_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def kill_all() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        _kill_group(p, signal.SIGTERM)
    deadline = time.monotonic() + 3
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(p, signal.SIGKILL)


def _kill_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _start_reaper(pgid: int, pid_dir: pathlib.Path | None) -> subprocess.Popen:
    return subprocess.Popen(["/bin/sh", "-c", _REAPER, "shmconform-reaper", str(pgid), str(pid_dir or "")],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop_reaper(reaper: subprocess.Popen) -> None:
    try:
        reaper.stdin.write(b"done\n")
        reaper.stdin.close()
    except OSError:
        pass
    reaper.wait()


def supervise(cmd: list[str], *, timeout: float, stop: threading.Event, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=None, env=None,
              early_abort=None, pid_dir: pathlib.Path | None = None) -> tuple[int | None, bool]:
    """Run cmd in its own process group; (returncode, timed_out). On timeout, stop
    or early_abort() returning True, the group gets SIGTERM then SIGKILL. pid_dir:
    where a round script records its invocations' groups (ID.pid), killed too
    should the harness die."""
    try:
        p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, stdin=stdin, cwd=cwd, env=env,
                             start_new_session=True)
    except OSError as e:
        raise TargetError(f"cannot start {cmd[0]}: {e.strerror}") from None
    reaper = _start_reaper(p.pid, pid_dir)
    with _live_lock:
        _live.add(p)
    timed_out = False
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                p.wait(0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if stop.is_set() or time.monotonic() > deadline or (early_abort and early_abort()):
                timed_out = not stop.is_set()
                _kill_group(p, signal.SIGTERM)
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    _kill_group(p, signal.SIGKILL)
                    p.wait()
                break
    finally:
        _kill_group(p, signal.SIGKILL)   # stragglers left in the group
        with _live_lock:
            _live.discard(p)
        _stop_reaper(reaper)
    return p.returncode, timed_out


def sweep_recorded_groups(results: pathlib.Path) -> None:
    """Kill process groups of invocations the round script recorded (ID.pid) that
    outlived it (the script was SIGKILLed); only groups led by that pid."""
    for pidfile in results.glob("*.pid"):
        try:
            pid = int(pidfile.read_text().strip())
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
        except (ValueError, OSError):
            pass
