"""Integration: the suite really runs in UML, in QEMU booting a Debian kernel,
under qemu-user (armhf, aarch64) and over ssh to a loopback sshd. Kept small
(one gtest filter per target) so the whole of ./shmconform test stays fast;
static and cross presets are built once per session."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time

import pytest

from harness import builds, cli, engine, targets

from .conftest import ROOT

SUBSET = "ShmgetTest.*:MunmapTest.*"


def ctx_for(tmp_path: pathlib.Path, build: pathlib.Path, **kw) -> targets.Context:
    return targets.Context(build_dir=build, cache_dir=cli.cache_dir(), work_dir=tmp_path / "work",
                           run_id=f"v{os.getpid()}{len(list(tmp_path.iterdir()))}", **kw)


def by_name(run):
    return {f"{r.binary}:{r.suite}.{r.name}": r for r in run.results}


def assert_subset_passed(run, arch: str | None = None, areas=("sysv", "mmap")):
    assert run.status == "ok", run.error
    bad = [(k, r.status, r.message[:200]) for k, r in by_name(run).items() if r.status not in ("pass", "skip")]
    assert not bad, bad
    names = set(by_name(run))
    assert any(k.startswith("conformance-sysv:ShmgetTest.") for k in names)
    if "mmap" in areas:
        assert any(k.startswith("conformance-mmap:MunmapTest.") for k in names)
    assert all(r.requirements for r in run.results)
    if arch:
        assert run.environment["arch"] == arch


@pytest.fixture(scope="session")
def static_build() -> pathlib.Path:
    return builds.ensure("static", only=["conformance-sysv", "conformance-mmap"])


@pytest.fixture(scope="session")
def debian_kernel() -> pathlib.Path:
    return __import__("harness.kernels", fromlist=["resolve"]).resolve(
        "linux-image-cloud-amd64", cli.cache_dir(), error=RuntimeError)


@pytest.mark.slow
def test_uml_runs_a_subset_and_reports_its_kernel(tmp_path):
    from .conftest import build_dir
    run = engine.run_target(targets.parse("uml"), ctx_for(tmp_path, build_dir()), engine.Plan(gtest_filter=SUBSET))
    assert_subset_passed(run)
    assert run.environment["kernel_release"] != os.uname().release
    assert run.environment["virtualization"] == "user-mode-linux"


@pytest.mark.slow
def test_uml_panic_is_detected_and_the_rest_rescheduled_in_a_fresh_boot(fake_build, tmp_path):
    ctx = ctx_for(tmp_path, fake_build, kernel_args="shmconform.fake_panic")
    run = engine.run_target(targets.parse("uml"), ctx, engine.Plan(binaries=["conformance-panic", "conformance-taint"],
                                                                     per_test_timeout=20))
    by = by_name(run)
    assert by["conformance-panic:Fake.PanicsKernel"].status == "crash"
    assert by["conformance-panic:Fake.After"].status == "pass"      # ran in a later boot
    taint = by["conformance-taint:Harness.KernelNotTainted"]
    assert taint.status == "fail" and "W (kernel issued warning)" in taint.message, taint.message
    assert "test running at the first warning (kernel log): Fake.TaintsKernel" in taint.message
    assert "WARNING: CPU: 0 PID: 1 at fake_gtest.c:1" in taint.output
    assert by["conformance-taint:Fake.After"].status == "pass"
    assert "Kernel panic" in run.console_tail or "panic" in run.console_tail.lower()
    assert "WARNING: CPU: 0 PID: 1 at fake_gtest.c:1" in run.console_tail


@pytest.mark.slow
def test_uml_dies_with_a_harness_killed_by_sigkill(fake_build, tmp_path):
    p = subprocess.Popen(["/usr/bin/python3", "-m", "harness", "run", "--build-dir", str(fake_build),
                          "--reports-dir", str(tmp_path / "r"), "-t", "uml", "--binary", "conformance-hang",
                          "--test-timeout", "600"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        outs = []
        while time.monotonic() < deadline and not outs:
            outs = [f for f in (tmp_path / "r").glob("*/work/uml/round-1/results/r1-conformance-hang.out")
                    if "about to hang" in f.read_text()]
            time.sleep(0.2)
        assert outs, "the hanging fake never started in UML"
        uml = [int(d.name) for d in pathlib.Path("/proc").iterdir() if d.name.isdigit() and _cmdline_has(d, str(tmp_path))]
        assert uml
    finally:
        p.kill()
        p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in uml):
        time.sleep(0.2)
    assert not [pid for pid in uml if _running(pid)], "the UML kernel outlived the harness"


def _cmdline_has(proc: pathlib.Path, text: str) -> bool:
    try:
        return text.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _running(pid: int) -> bool:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


@pytest.mark.slow
def test_qemu_debian_kernel_runs_a_subset(static_build, debian_kernel, tmp_path):
    run = engine.run_target(targets.parse(f"qemu:{debian_kernel}"), ctx_for(tmp_path, static_build),
                            engine.Plan(gtest_filter=SUBSET))
    assert_subset_passed(run, "x86_64")
    assert "cloud-amd64" in run.environment["kernel_release"]
    assert run.environment["virtualization"].startswith("qemu-system-x86_64")


@pytest.mark.slow
def test_qemu_panic_hang_crash_leak_in_the_guest(fake_build, debian_kernel, tmp_path):
    ctx = ctx_for(tmp_path, fake_build, kernel_args="shmconform.fake_panic", preset_dirs={"static": fake_build})
    run = engine.run_target(targets.parse(f"qemu:{debian_kernel}"), ctx,
                            engine.Plan(binaries=["conformance-panic", "conformance-hang", "conformance-leak"],
                                        per_test_timeout=5))
    by = by_name(run)
    assert "conformance-panic:Fake.PanicsKernel" in by, (run.error, run.console_tail[-3000:], list(by))
    assert by["conformance-panic:Fake.PanicsKernel"].status == "crash"
    assert "kernel died" in by["conformance-panic:Fake.PanicsKernel"].message
    assert by["conformance-panic:Fake.After"].status == "pass"
    assert by["conformance-hang:Fake.Hangs"].status == "timeout"
    assert by["conformance-hang:Fake.After"].status == "pass"
    assert by["conformance-leak:Harness.NoIpcObjectsLeftBehind"].status == "fail"
    assert "Kernel panic" in run.console_tail


@pytest.mark.slow
@pytest.mark.parametrize("arch,uname", [("armhf", "armv7l"), ("aarch64", "aarch64")])
def test_qemu_user_runs_a_subset(arch, uname, tmp_path):
    # One binary only: a cold cross build (gtest from source) is the slowest part of the tests.
    build = builds.ensure(arch, only=["conformance-sysv"])
    from .conftest import build_dir
    run = engine.run_target(targets.parse(f"qemu-user:{arch}"), ctx_for(tmp_path, build_dir(), preset_dirs={arch: build}),
                            engine.Plan(binaries=["conformance-sysv"], gtest_filter=SUBSET))
    assert_subset_passed(run, uname, areas=("sysv",))
    if arch == "armhf":
        assert run.environment["shmlba"] == 16384


@pytest.fixture
def loopback_sshd(tmp_path):
    """A throwaway OpenSSH server on 127.0.0.1 with generated keys; yields (port, identity)."""
    if not shutil.which("/usr/sbin/sshd"):
        pytest.fail("openssh-server is not installed (ci/bootstrap.sh test installs it)")
    d = tmp_path / "sshd"
    d.mkdir()
    for key in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    (d / "authorized_keys").write_text((d / "user.pub").read_text())
    os.makedirs("/run/sshd", exist_ok=True)
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(["/usr/sbin/sshd", "-f", "/dev/null", "-o", f"Port={port}", "-o", "ListenAddress=127.0.0.1",
                    "-o", f"HostKey={d / 'host'}", "-o", f"AuthorizedKeysFile={d / 'authorized_keys'}",
                    "-o", f"PidFile={d / 'pid'}", "-o", "StrictModes=no",
                    "-o", "PermitRootLogin=prohibit-password"], check=True)
    deadline = time.monotonic() + 10
    while not (d / "pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield port, d / "user"
    finally:
        try:
            os.kill(int((d / "pid").read_text()), 15)
        except (OSError, ValueError):
            pass


SSH_OPTS = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]


@pytest.mark.slow
def test_ssh_copies_runs_fetches_and_cleans_up(loopback_sshd, static_build, tmp_path):
    port, key = loopback_sshd
    ctx = ctx_for(tmp_path, static_build, ssh_options=[*SSH_OPTS, f"i={key}"])
    target = targets.parse(f"ssh:root@127.0.0.1:{port}")
    removed = []
    teardown = target.teardown
    target.teardown = lambda: (removed.append(target.remote), teardown())
    run = engine.run_target(target, ctx, engine.Plan(gtest_filter=SUBSET))
    assert_subset_passed(run, "x86_64")
    assert run.environment["virtualization"] == "remote host"
    assert removed and removed[0].startswith("/tmp/shmconform.")
    assert not pathlib.Path(removed[0]).exists(), "remote directory left behind"


@pytest.mark.slow
def test_ssh_hang_and_crash_are_handled_remotely(loopback_sshd, fake_build, tmp_path):
    port, key = loopback_sshd
    ctx = ctx_for(tmp_path, fake_build, ssh_options=[*SSH_OPTS, f"i={key}"], preset_dirs={"static": fake_build})
    run = engine.run_target(targets.parse(f"ssh:root@127.0.0.1:{port}"), ctx,
                            engine.Plan(binaries=["conformance-hang", "conformance-crash"], per_test_timeout=3))
    by = by_name(run)
    assert by["conformance-hang:Fake.Hangs"].status == "timeout"
    assert by["conformance-crash:Fake.Crashes"].status == "crash"
    assert by["conformance-hang:Fake.After"].status == by["conformance-crash:Fake.After"].status == "pass"


def test_unreachable_ssh_host_is_a_broken_target(tmp_path, fake_build):
    ctx = ctx_for(tmp_path, fake_build, ssh_options=["ConnectTimeout=3"], preset_dirs={"static": fake_build})
    run = engine.run_target(targets.parse("ssh:root@127.0.0.1:1"), ctx, engine.Plan())
    assert run.status == "broken" and "cannot reach root@127.0.0.1 port 1" in run.error


@pytest.mark.slow
def test_uml_warning_during_stress_fails_the_scenario_and_the_rest_run_in_a_fresh_boot(fake_build, tmp_path):
    """Issue 15's case: a WARN during one stress scenario on UML is reported, and the later ones still run."""
    build = tmp_path / "build"
    shutil.copytree(fake_build, build)
    (build / "stress").mkdir()
    warn = ('grep -q shmconform.fake_panic /proc/cmdline && '
            '{ echo "<4>WARNING: CPU: 0 PID: $$ at mm/fake.c:9 storm+0x1/0x2" > /dev/kmsg; '
            'echo 512 > /proc/sys/kernel/tainted; }\n')
    for name, body in [("a-fine", ""), ("b-taints", warn), ("c-after", ""), ("d-after", "")]:
        p = build / "stress" / f"stress-{name}"
        p.write_text(f'#!/bin/sh\n{body}echo "{{\\"scenario\\": \\"{name}\\", \\"violations\\": 0}}"\n')
        p.chmod(0o755)
    ctx = ctx_for(tmp_path, build, kernel_args="shmconform.fake_panic")
    run = engine.run_target(targets.parse("uml"), ctx, engine.Plan(binaries=["conformance-fake"], stress_seconds=4))
    stress = {s["scenario"]: s for s in run.stress}
    assert not stress["b-taints"]["ok"] and "W (kernel issued warning)" in stress["b-taints"]["error"]
    assert "WARNING: CPU: 0 PID:" in stress["b-taints"]["kernel_log"]
    assert all(stress[s]["ok"] for s in ("a-fine", "c-after", "d-after")), run.stress
    assert "WARNING: CPU: 0 PID:" in run.console_tail
    assert any(r.binary == "stress-b-taints" and r.status == "fail" for r in run.results)
