"""Each robustness promise, proven with fake test binaries (tests/fakes/fake_gtest.c)
on the local kernel and in namespaces; the VM promises are in test_vm_targets.py."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from harness import engine, targets

from .conftest import ROOT, add_stress_and_bench

PY = "/usr/bin/python3"


def run_engine(spec: str, build: pathlib.Path, tmp_path: pathlib.Path, binaries: list[str], **plan_kw):
    ctx = targets.Context(build_dir=build, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work",
                          run_id=f"t{os.getpid()}x{len(list(tmp_path.iterdir()))}")
    plan = engine.Plan(binaries=binaries, per_test_timeout=3, **plan_kw)
    run = engine.run_target(targets.parse(spec), ctx, plan)
    return run, {f"{r.binary}:{r.suite}.{r.name}": r for r in run.results}


def test_statuses_requirements_and_environment(fake_build, tmp_path):
    run, by = run_engine("local", fake_build, tmp_path, ["conformance-fake"])
    assert run.status == "ok"
    assert {k: r.status for k, r in by.items()} == {
        "conformance-fake:Fake.Passes": "pass", "conformance-fake:Fake.Fails": "fail",
        "conformance-fake:Fake.Skips": "skip"}
    assert by["conformance-fake:Fake.Fails"].requirements == ["FAKE.REQ.ONE"]
    assert "Expected: 1" in by["conformance-fake:Fake.Fails"].message
    assert by["conformance-fake:Fake.Skips"].message == "no reason"
    env = run.environment
    assert env["kernel_release"] == os.uname().release
    assert env["page_size"] == os.sysconf("SC_PAGESIZE")
    for key in ("shmlba", "shmmax", "shmall", "shmmni", "shm_rmid_forced", "cpus", "memory_bytes", "libc", "arch"):
        assert key in env, key


@pytest.mark.parametrize("spec", ["local", "ns"])
def test_hung_test_times_out_with_output_and_the_rest_still_run(fake_build, tmp_path, spec):
    t0 = time.monotonic()
    run, by = run_engine(spec, fake_build, tmp_path, ["conformance-hang"])
    hung = by["conformance-hang:Fake.Hangs"]
    assert hung.status == "timeout" and "about to hang" in hung.output
    assert by["conformance-hang:Fake.Before"].status == "pass"
    assert by["conformance-hang:Fake.After"].status == "pass"
    assert time.monotonic() - t0 < 30


def test_crash_is_blamed_on_the_running_test_and_the_rest_still_run(fake_build, tmp_path):
    run, by = run_engine("local", fake_build, tmp_path, ["conformance-crash"])
    crashed = by["conformance-crash:Fake.Crashes"]
    assert crashed.status == "crash" and "SIGSEGV" in crashed.message and "about to crash" in crashed.output
    assert by["conformance-crash:Fake.Before"].status == "pass"
    assert by["conformance-crash:Fake.After"].status == "pass"
    assert len(run.results) == 3


def test_garbage_output_is_one_error_result(fake_build, tmp_path):
    run, by = run_engine("local", fake_build, tmp_path, ["conformance-garbage"])
    assert run.status == "ok"
    [r] = run.results
    assert r.status == "error" and "did not run as a GoogleTest binary" in r.message


@pytest.mark.parametrize("spec", ["local", "ns"])
def test_leaked_segment_and_name_are_reported_as_failure_and_removed(fake_build, tmp_path, spec):
    run, by = run_engine(spec, fake_build, tmp_path, ["conformance-leak"])
    leak = by["conformance-leak:Harness.NoIpcObjectsLeftBehind"]
    assert leak.status == "fail"
    [sysv] = [x for x in run.leftovers if x.startswith("sysv key=")]
    [posix] = [x for x in run.leftovers if x.startswith("posix /dev/shm/shmconform.")]
    assert sysv.endswith("(removed)") and posix.endswith("(removed)")
    assert "fake-leak" in posix and not pathlib.Path(posix.split()[1]).exists()
    shmid = int(sysv.split("shmid=")[1].split()[0])
    if spec == "local":  # in "ns" it lived in the namespace's own IPC table
        ids = {int(line.split()[1]) for line in pathlib.Path("/proc/sysvipc/shm").read_text().splitlines()[1:]}
        assert shmid not in ids


def test_stress_and_bench_results_are_stored(fake_build, tmp_path):
    build = tmp_path / "b"
    subprocess.run(["cp", "-a", str(fake_build), str(build)], check=True)
    add_stress_and_bench(build)
    run, _ = run_engine("local", build, tmp_path, ["conformance-fake"], stress_seconds=4, bench_seconds=2)
    by = {s["binary"]: s for s in run.stress}
    assert by["stress-fine"]["ok"] and by["stress-fine"]["result"]["violations"] == 0
    assert "--duration=2 --workers=2 --seed=1 --json" in by["stress-fine"]["result"]["args"]
    assert not by["stress-broken"]["ok"] and by["stress-broken"]["exit_code"] == 1
    assert "oops" in by["stress-broken"]["stderr"]
    [bench] = run.benchmarks
    assert bench["benchmarks"][0]["name"] == "BM_Fake" and "--benchmark_format=json" in bench["context"]["args"]


def cli(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, **kw)


@pytest.mark.parametrize("spec,words", [
    ("docker", "unknown target 'docker'"),
    ("qemu-user:sparc", "unknown architecture 'sparc'"),
])
def test_bad_target_spec_is_one_error_line(fake_build, tmp_path, spec, words):
    r = cli("run", "--build-dir", str(fake_build), "--reports-dir", str(tmp_path), "-t", "local", "-t", spec)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and words in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("spec,words", [
    ("uml:/etc/passwd", "is not a user-mode-linux kernel"),
    ("uml:/no/such/linux", "no such kernel file"),
    ("qemu:/no/such/vmlinuz", "no such kernel file"),
    ("qemu:/etc/passwd", "not an x86 kernel image"),
    ("ssh:root@127.0.0.1:1", "cannot reach"),
    ("wrap:\"no-such-runtime --flag\"", "'no-such-runtime' is not an executable"),
])
def test_unusable_target_is_reported_broken_and_the_others_finish(fake_build, tmp_path, spec, words):
    r = cli("run", "--build-dir", str(fake_build), "--reports-dir", str(tmp_path), "-t", spec, "-t", "local",
            "--binary", "conformance-fake", "--no-build", "--preset-dir", f"static={fake_build}")
    assert r.returncode == 1 and "Traceback" not in r.stderr + r.stdout
    broken = [line for line in r.stdout.splitlines() if "BROKEN" in line]
    assert len(broken) == 1 and words in broken[0], r.stdout
    report = json.loads((tmp_path / "latest" / "report.json").read_text()) \
        if (tmp_path / "latest" / "report.json").exists() else None
    if report:  # written by the harness itself (no reports package): check both targets are there
        assert [t["status"] for t in report["targets"]] == ["broken", "ok"]


def test_missing_cross_build_without_building_is_one_line(fake_build, tmp_path):
    r = cli("run", "--build-dir", str(fake_build), "--reports-dir", str(tmp_path), "-t", "qemu-user:riscv64",
            "--no-build")
    if (ROOT / "build" / "riscv64" / "conformance").is_dir():
        pytest.skip("a riscv64 build exists here")
    assert r.returncode == 1 and "no riscv64 build" in r.stdout and "Traceback" not in r.stderr


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for whoever adopted it), after a grace period."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def test_sigterm_stops_cleanly_and_keeps_results(fake_build, tmp_path):
    p = subprocess.Popen([PY, "-m", "harness", "run", "--build-dir", str(fake_build), "--reports-dir", str(tmp_path),
                          "-t", "local", "--binary", "conformance-fake", "--binary", "conformance-hang",
                          "--test-timeout", "600", "--keep-work"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    hang_out = None
    while time.monotonic() < deadline and hang_out is None:
        for f in tmp_path.glob("*/work/local/round-1/results/r1-conformance-hang.out"):
            if "about to hang" in f.read_text():
                hang_out = f
        time.sleep(0.2)
    assert hang_out is not None, "the hanging fake never started"
    pid = int(hang_out.with_suffix(".pid").read_text())
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "stopping" in err
    assert not _alive(pid), "the hung test binary survived"
    reports = list(tmp_path.glob("*/report.json")) + list(tmp_path.glob("*/report.html"))
    assert reports, "no report saved"
    data = json.loads(next(tmp_path.glob("*/report.json")).read_text())
    statuses = {f"{r['suite']}.{r['name']}": r["status"] for r in data["targets"][0]["results"]}
    assert statuses.get("Fake.Passes") == "pass"
