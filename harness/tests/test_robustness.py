"""Each robustness promise, proven with fake test binaries (tests/fakes/fake_gtest.c)
on the local kernel and in namespaces; the VM promises are in test_vm_targets.py."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
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
    ("qemu:/etc/passwd", "is not a kernel image the harness knows"),
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


class StandInKernelTarget(targets.local.LocalTarget):
    """The local target with a stand-in kernel: its taint value and kernel log are
    files of the round (a fresh "boot" each round), and it stops on taint as VMs do."""
    own_kernel = True   # False: the stand-in plays the host's kernel (local, ns, ssh)

    def run_round(self, invocations, round_dir, timeout):
        kernel = round_dir / "kernel"
        kernel.mkdir(parents=True)
        (kernel / "tainted").write_text("0\n")
        (kernel / "kmsg").write_text("[0.0] stand-in kernel booted\n")
        self.prologue = (f"TAINTED={kernel}/tainted; KMSG={kernel}/kmsg; STOP_ON_TAINT={int(self.own_kernel)}\n"
                         f"kernel_log() {{ cat {kernel}/kmsg; }}\nexport SHMCONFORM_FAKE_KERNEL={kernel}")
        return super().run_round(invocations, round_dir, timeout)


class StandInHostKernelTarget(StandInKernelTarget):
    own_kernel = False


def stand_in(build, tmp_path, target_class=StandInKernelTarget, **plan_kw):
    ctx = targets.Context(build_dir=build, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work",
                          run_id=f"k{os.getpid()}")
    return engine.run_target(target_class("stand-in"), ctx, engine.Plan(per_test_timeout=10, **plan_kw))


def test_a_kernel_warning_in_a_binary_names_the_test_decodes_the_taint_and_reruns_the_rest(fake_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(fake_build, build)
    shutil.copy(build / "conformance" / "conformance-fake", build / "conformance" / "conformance-u-fake")  # after taint
    run = stand_in(build, tmp_path, binaries=["conformance-taint", "conformance-u-fake"])
    by = {f"{r.binary}:{r.suite}.{r.name}": r for r in run.results}
    warn = by["conformance-taint:Harness.KernelNotTainted"]
    assert warn.status == "fail"
    assert "kernel taint went from 0 to 512" in warn.message and "W (kernel issued warning)" in warn.message
    assert "test running at the first warning (kernel log): Fake.TaintsKernel" in warn.message
    assert "WARNING: CPU: 0 PID: 1 at fake_gtest.c:1" in warn.output
    assert "WARNING: CPU: 0 PID: 1 at fake_gtest.c:1" in run.console_tail
    assert "W (kernel issued warning)" in run.error
    # The binary after it ran in a fresh "boot": round 2.
    assert by["conformance-u-fake:Fake.Passes"].status == "pass"
    assert by["conformance-u-fake:Fake.Passes"].requirements == ["FAKE.REQ.ONE"]
    assert (tmp_path / "work" / "stand-in" / "round-2" / "results" / "r2-conformance-u-fake.rc").exists()
    assert not (tmp_path / "work" / "stand-in" / "round-1" / "results" / "r1-conformance-u-fake.out").exists()
    assert cli_run_failed(run)


def test_binaries_mark_each_test_in_a_kernel_the_target_owns(fake_build, tmp_path):
    """SHMCONFORM_KMSG is exported where the target owns the kernel: each test's start is in its log."""
    stand_in(fake_build, tmp_path, binaries=["conformance-fake"])
    klog = (tmp_path / "work" / "stand-in" / "round-1" / "kernel" / "kmsg").read_text()
    assert [ln for ln in klog.splitlines() if "shmconform:" in ln] == [
        "<5>shmconform: begin r1-conformance-fake", "<5>shmconform: test Fake.Passes",
        "<5>shmconform: test Fake.Fails", "<5>shmconform: test Fake.Skips"]


def test_a_host_kernel_gets_no_per_test_lines_and_the_watchdog_names_the_test(fake_build, tmp_path):
    """On the host's kernel (local, ns, ssh) the binaries must not flood its log: only the
    invocation's marker is written, and the incident names the test as the watchdog saw it."""
    run = stand_in(fake_build, tmp_path, StandInHostKernelTarget, binaries=["conformance-taint"])
    klog = (tmp_path / "work" / "stand-in" / "round-1" / "kernel" / "kmsg").read_text()
    assert "shmconform: begin r1-conformance-taint" in klog and "shmconform: test" not in klog
    [warn] = [r for r in run.results if r.suite == "Harness" and r.name == "KernelNotTainted"]
    assert warn.status == "fail" and "W (kernel issued warning)" in warn.message
    assert "(kernel log)" not in warn.message and "watchdog noticed it" in warn.message, warn.message


def test_a_kernel_warning_during_stress_fails_the_scenario_and_the_rest_run_in_a_fresh_boot(fake_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(fake_build, build)
    (build / "stress").mkdir()
    for name, body in [
        ("a-fine", ""),
        ("b-taints", 'echo "<4>WARNING: CPU: 1 PID: 7 at mm/fake.c:9 storm+0x1/0x2" >> "$SHMCONFORM_FAKE_KERNEL/kmsg"\n'
                     'echo 512 > "$SHMCONFORM_FAKE_KERNEL/tainted"\n'),
        ("c-after", ""), ("d-after", ""),
    ]:
        p = build / "stress" / f"stress-{name}"
        p.write_text(f'#!/bin/sh\n{body}echo "{{\\"scenario\\": \\"{name}\\", \\"violations\\": 0}}"\n')
        p.chmod(0o755)
    run = stand_in(build, tmp_path, binaries=["conformance-fake"], stress_seconds=4)
    stress = {s["scenario"]: s for s in run.stress}
    assert list(stress) == ["a-fine", "b-taints", "c-after", "d-after"]
    bad = stress["b-taints"]
    assert not bad["ok"] and "W (kernel issued warning)" in bad["error"]
    assert "WARNING: CPU: 1 PID: 7 at mm/fake.c:9" in bad["kernel_log"]
    assert all(stress[s]["ok"] for s in ("a-fine", "c-after", "d-after")), run.stress
    [warn] = [r for r in run.results if r.binary == "stress-b-taints"]
    assert warn.suite == "Harness" and warn.status == "fail"
    assert "stress-stress-b-taints" in run.error
    assert cli_run_failed(run)


def cli_run_failed(target_run) -> bool:
    from harness import cli, model
    from harness.report import analysis
    run = model.Run(run_id="x", started="", targets=[target_run])
    return cli.run_failed(run) and analysis.target_verdict(target_run).verdict == "fail"


def _running(pid: int) -> bool:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit() and d.name != str(os.getpid()):
            try:
                cmdline = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline and _running(int(d.name)):
                found.append(int(d.name))
    return found


@pytest.mark.parametrize("spec", ["local", "ns"])
def test_a_harness_killed_with_sigkill_leaves_no_child_behind(fake_build, tmp_path, spec):
    """The round script and the hung binary it runs die with the harness, even by SIGKILL."""
    build = tmp_path / "build"
    shutil.copytree(fake_build, build)
    p = subprocess.Popen([PY, "-m", "harness", "run", "--build-dir", str(build), "--reports-dir", str(tmp_path / "r"),
                          "-t", spec, "--binary", "conformance-hang", "--test-timeout", "600"],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _processes_mentioning(f"{build}/conformance/conformance-hang"):
            time.sleep(0.2)
        before = _processes_mentioning(str(tmp_path))
        assert before, "the hanging fake never started"
    finally:
        p.kill()
        p.wait()
    assert not [pid for pid in before if _alive(pid)], "children outlived the harness"
