"""The stress binaries: JSON contract, exact --ops budgets, invalid options,
injected faults detected with precise messages, and cleanup after a worker
crash, SIGTERM, and SIGKILL of the main process. No timed assertions: waits
are functional (until objects appear or processes end), with generous caps."""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest

from harness.tests.conftest import build_dir

SCENARIOS = ["sysv-churn", "ring-integrity", "fork-storm", "rmid-race", "exhaustion", "mapping-churn",
             "msync-truncate", "posix-churn"]

# (scenario, injection) -> what the violation message must say.
INJECTIONS = {
    ("sysv-churn", "corrupt-byte"): r"byte \d+ of \d+ is 0x[0-9a-f]+, expected 0x[0-9a-f]+",
    ("sysv-churn", "skip-detach"): r"shm_nattch \d+, expected \d+|IPC_STAT\) after .* succeeded \(returned 0\), expected failure with EINVAL",
    ("posix-churn", "corrupt-byte"): r"byte \d+ of \d+ is 0x[0-9a-f]+, expected 0x[0-9a-f]+",
    ("posix-churn", "skip-unlink"): r"failed with EEXIST, expected success|succeeded \(returned \d+\), expected failure with ENOENT",
    ("mapping-churn", "corrupt-byte"): r"page \d+: byte \d+ is 0x[0-9a-f]+, expected 0x[0-9a-f]+ \(after a fill\)",
    ("mapping-churn", "skip-unmap"): r"in a range just unmapped gave no fault, expected SIGSEGV/SEGV_MAPERR",
    ("msync-truncate", "corrupt-byte"): r"byte \d+ is 0x[0-9a-f]+, expected 0x[0-9a-f]+",
    ("msync-truncate", "skip-truncate"): r"gave no fault, expected SIGBUS/BUS_ADRERR|the model says \d+ pages",
    ("ring-integrity", "corrupt-byte"): r"checksum mismatch; payload byte \d+ is 0x[0-9a-f]+, expected 0x[0-9a-f]+",
    ("ring-integrity", "lose-record"): r"producer \d+: \d+ records produced, \d+ consumed .*lost or duplicated",
    ("fork-storm", "corrupt-byte"): r"byte \d+ is 0x[0-9a-f]+, expected 0x[0-9a-f]+",
    ("fork-storm", "extra-attach"): r"shm_nattch \d+ .*expected \d+",
    ("rmid-race", "corrupt-byte"): r"attached shmid \d+, but its memory belongs to shmid \d+",
    ("rmid-race", "leak-segment"): r"shmid \d+ \(key 0, nattch 0, created by worker pid \d+\) outlived the run: leaked",
    ("exhaustion", "skip-remove"): r"recovery: shmget #\d+ of \d+ .* failed with ENOSPC, expected success",
}

STARTUP = re.compile(r"sysv-keys=0x([0-9a-f]+)-0x([0-9a-f]+) shm-names=/(\S+)\* scratch=(\S+) janitor=(\d+)")


def binary(scenario: str) -> pathlib.Path:
    path = build_dir() / "stress" / f"stress-{scenario}"
    if not path.exists():
        pytest.fail(f"{path} is not built")
    return path


def run(scenario: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary(scenario)), *args], capture_output=True, text=True, timeout=timeout)


def skip_if_skipped(proc: subprocess.CompletedProcess) -> None:
    if proc.returncode == 77:
        pytest.skip(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_brief_run_reports_verified_ops_as_json(scenario):
    proc = run(scenario, "--duration=0.5", "--workers=2", "--seed=7", "--json")
    skip_if_skipped(proc)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["scenario"] == scenario
    assert (result["seed"], result["workers"]) == (7, 2)
    assert result["ops"] > 0 and result["ops_per_s"] > 0 and result["duration_s"] > 0
    assert result["errors"] == 0 and result["violations"] == []
    assert result["interrupted"] is None and result["skipped"] is None
    assert result["latency_ns"], "no latency recorded"
    for op, lat in result["latency_ns"].items():
        assert 0 < lat["count"] and lat["p50"] <= lat["p99"], (op, lat)
    assert sum(lat["count"] for lat in result["latency_ns"].values()) == result["ops"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ops_budget_is_exact(scenario):
    proc = run(scenario, "--ops=301", "--workers=2", "--seed=3", "--json")
    skip_if_skipped(proc)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ops"] == 301


@pytest.mark.parametrize("scenario,injection", sorted(INJECTIONS))
def test_injected_fault_is_detected_with_a_precise_message(scenario, injection):
    proc = run(scenario, f"--inject={injection}", "--duration=20", "--workers=2", "--seed=4242", "--json")
    skip_if_skipped(proc)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["errors"] >= 1 and result["violations"], result
    first = result["violations"][0]
    assert f"stress-{scenario}: VIOLATION seed=4242 " in first
    assert any(re.search(INJECTIONS[scenario, injection], v) for v in result["violations"]), result["violations"]
    assert first in proc.stderr  # also printed the moment it was found


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("bad", ["--workers=0", "--duration=-1", "--duration=abc", "--ops=0", "--seed=-3",
                                 "--no-such-option=1", "--inject=no-such-fault", "positional"])
def test_invalid_option_exits_2_with_one_line_before_creating_anything(scenario, bad):
    proc = run(scenario, bad, "--duration=1")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"stress-{scenario}: invalid option: "), proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("scenario,option", [("sysv-churn", "--size=0"), ("sysv-churn", "--segments=257"),
                                             ("posix-churn", "--size=2g"), ("posix-churn", "--objects=100000"),
                                             ("mapping-churn", "--pages=0"), ("msync-truncate", "--pages=1x"),
                                             ("ring-integrity", "--cells=1"), ("fork-storm", "--exec=2"),
                                             ("rmid-race", "--size=4"), ("exhaustion", "--shm-pages=0")])
def test_out_of_range_size_exits_2(scenario, option):
    proc = run(scenario, option, "--duration=1")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("scenario,args,why", [
    # /dev/shm and memory are far smaller than a TiB on any test machine.
    ("posix-churn", ["--size=1g", "--objects=1024"], "exceeds the free space of /dev/shm"),
    ("sysv-churn", ["--size=1g", "--segments=256"], "exceeds half the physical memory"),
    ("ring-integrity", ["--cells=1048576", "--record=65536"], "exceeds half the physical memory"),
])
def test_size_above_system_limit_exits_2(scenario, args, why):
    proc = run(scenario, *args, "--duration=1")
    assert proc.returncode == 2
    assert why in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def run_as_nobody(path: pathlib.Path, scratch: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """Runs a copy of the binary at `path` as uid/gid 65534. The checkout, and
    pytest's tmp_path, may lie below directories that user cannot enter (a
    clone in a `mktemp -d` directory, /tmp/pytest-of-root), so the copy is
    executed through a descriptor, /proc/self/fd/N: exec then needs no search
    permission on any directory, only the copy's own mode, which we set."""
    copy = scratch / path.name
    shutil.copyfile(path, copy)
    copy.chmod(0o755)

    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    fd = os.open(copy, os.O_RDONLY)
    try:
        return subprocess.run([str(copy), *args], executable=f"/proc/self/fd/{fd}", pass_fds=(fd,),
                              capture_output=True, text=True, timeout=60, preexec_fn=drop, cwd="/")
    finally:
        os.close(fd)


def test_exhaustion_skips_with_reason_without_namespaces(tmp_path):
    if os.geteuid() != 0:
        proc = run("exhaustion", "--duration=1", "--json")
    else:
        proc = run_as_nobody(binary("exhaustion"), tmp_path, "--duration=1", "--json")
    assert proc.returncode == 77, proc.stderr
    assert "no private namespaces here: unshare(CLONE_NEWIPC|CLONE_NEWNS) failed with EPERM" in proc.stderr
    assert json.loads(proc.stdout)["skipped"].startswith("no private namespaces here")


# ------------------------------------------------------------------ cleanup

def our_objects(startup: re.Match) -> list[str]:
    """Every object of the run still on the host: SysV keys in its range, its
    /dev/shm names, its scratch directory."""
    low, high = int(startup.group(1), 16), int(startup.group(2), 16)
    found = []
    for line in pathlib.Path("/proc/sysvipc/shm").read_text().splitlines()[1:]:
        key = int(line.split()[0]) & 0xffffffff
        if low <= key <= high:
            found.append(f"segment {line.split()[1]} key {key:#x}")
    found += [f"/dev/shm/{n}" for n in os.listdir("/dev/shm") if n.startswith(startup.group(3))]
    if os.path.exists(startup.group(4)):
        found.append(startup.group(4))
    return found


def descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = pathlib.Path(f"/proc/{p}/task/{task}/children").read_text().split()
                for k in map(int, kids):
                    if k not in out:
                        out.add(k)
                        todo.append(k)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie holds nothing; reaping it is its new parent's business


def wait_until(predicate, cap: float = 30.0) -> bool:
    """Functional wait (polls until true); the cap only stops a hang."""
    end = time.monotonic() + cap
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Running:
    """A stress binary started in the background, its startup line parsed."""

    def __init__(self, scenario: str):
        self.proc = subprocess.Popen([str(binary(scenario)), "--duration=60", "--workers=2", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        self.startup = STARTUP.search(line)
        assert self.startup, line
        self.janitor = int(self.startup.group(5))

    def workers(self) -> list[int]:
        """The worker processes: the main process's children but the janitor."""
        kids = set()
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                kids |= set(map(int, pathlib.Path(f"/proc/{self.proc.pid}/task/{task}/children").read_text().split()))
        except (FileNotFoundError, ProcessLookupError):
            pass
        return sorted(kids - {self.janitor})


# Scenarios whose objects live on the host (exhaustion's live in namespaces
# that die with their workers; mapping-churn creates none).
HOST_OBJECTS = ["sysv-churn", "ring-integrity", "fork-storm", "rmid-race", "msync-truncate", "posix-churn"]


@pytest.mark.parametrize("scenario", HOST_OBJECTS)
def test_worker_killed_midway_is_a_violation_and_nothing_leaks(scenario):
    r = Running(scenario)
    try:
        assert wait_until(lambda: len(r.workers()) >= 2 and our_objects(r.startup)), "the run never created objects"
        tree = descendants(r.proc.pid)
        victim = r.workers()[0]
        os.kill(victim, signal.SIGKILL)
        out, err = r.proc.communicate(timeout=60)
    finally:
        if r.proc.poll() is None:
            r.proc.kill()
    assert r.proc.returncode == 1, err
    result = json.loads(out)
    assert any(re.search(rf"worker \d \(pid {victim}\) was killed by SIGKILL", v) for v in result["violations"]), result
    assert our_objects(r.startup) == []
    assert [p for p in tree if alive(p)] == []


@pytest.mark.parametrize("scenario", ["sysv-churn", "posix-churn", "msync-truncate", "fork-storm"])
def test_sigterm_stops_cleans_up_and_reports(scenario):
    r = Running(scenario)
    try:
        assert wait_until(lambda: len(r.workers()) >= 2 and our_objects(r.startup))
        tree = descendants(r.proc.pid)
        r.proc.send_signal(signal.SIGTERM)
        out, err = r.proc.communicate(timeout=60)
    finally:
        if r.proc.poll() is None:
            r.proc.kill()
    assert r.proc.returncode == 128 + signal.SIGTERM, err
    result = json.loads(out)
    assert result["interrupted"] == "SIGTERM" and result["violations"] == []
    # How many operations finished before the signal depends on the machine's
    # load (a fork can take 40 ms here when busy), so not ops > 0: the report
    # must count what was done, consistently.
    assert sum(lat["count"] for lat in result["latency_ns"].values()) == result["ops"]
    assert our_objects(r.startup) == []
    assert [p for p in tree if alive(p)] == []


@pytest.mark.parametrize("scenario", ["sysv-churn", "posix-churn", "ring-integrity", "msync-truncate"])
def test_sigkill_of_the_main_process_leaves_nothing_behind(scenario):
    r = Running(scenario)
    try:
        assert wait_until(lambda: len(r.workers()) >= 2 and our_objects(r.startup))
        tree = descendants(r.proc.pid)
        r.proc.kill()
        r.proc.wait(timeout=60)
        # Workers die with their parent (PR_SET_PDEATHSIG); the janitor then cleans up.
        assert wait_until(lambda: not alive(r.janitor) and not any(alive(p) for p in tree), cap=60)
    finally:
        if r.proc.poll() is None:
            r.proc.kill()
    assert our_objects(r.startup) == []
    assert "janitor: the main process died; removed" in r.proc.stderr.read()
