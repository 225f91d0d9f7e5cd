"""oci:/gvisor targets: option parsing, bad input (one line, non-zero, nothing
else lost), the detected quirks, stdout framing of wrapped reports, sandbox
start diagnoses, and one short end-to-end run on oci:runc through podman."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from harness import builds, engine, result_framing, targets
from harness.oci import diagnose, options, podman
from harness.script import Invocation

from .conftest import ROOT
from .test_vm_targets import ctx_for

HAS_PODMAN = shutil.which("podman") is not None


def cli(*args, env=None, user=None, cwd=ROOT):
    cmd = [sys.executable, "-m", "harness", *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def readable_copy_of_the_harness(base: pathlib.Path) -> pathlib.Path:
    """The harness and the files it reads, copied below base: a checkout may sit
    in a directory other users cannot enter (mktemp -d, root's home)."""
    tree = base / "tree"
    for part in ("harness", "conformance/requirements", "reports", "ci"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("runs", "__pycache__", "tests"))
    for d in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
        d.chmod(0o755)
    return tree


# -- options -----------------------------------------------------------------
def test_options_read_as_documented():
    o = options.parse("crun,ipc=host,cap-add=IPC_OWNER+CAP_IPC_LOCK,shm-size=256m")
    assert (o.runtime, o.ipc, o.cap_add, o.shm_size) == ("crun", "host", ["CAP_IPC_OWNER", "CAP_IPC_LOCK"], "256m")
    assert options.parse("runc,cap-add=sys_admin,cap-add=IPC_OWNER").cap_add == ["CAP_SYS_ADMIN", "CAP_IPC_OWNER"]
    g = options.parse("", family="gvisor")
    assert (g.runtime, g.platform, g.ipc) == ("runsc", "ptrace", "private")
    assert options.parse("/opt/bin/runsc,platform=kvm").is_gvisor
    assert options.parse("runc,sysctl-rw=yes").sysctl_rw


@pytest.mark.parametrize("arg, words", [
    ("nosuch", "unknown runtime 'nosuch'"),
    ("", "name a runtime first"),
    ("ipc=host", "name a runtime first"),
    ("runc,color=blue", "unknown option 'color=blue'"),
    ("runc,ipc=none", "ipc=none"),
    ("runc,shm-size=lots", "shm-size=lots"),
    ("runc,cap-add=ipc-owner", "not a capability name"),
    ("runc,platform=ptrace", "gVisor (runsc) option"),
    ("runc,ipc", "needs a value"),
])
def test_bad_specs_are_one_line(arg, words):
    with pytest.raises(options.OptionError) as e:
        options.parse(arg)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("spec", ["oci:nosuch", "oci:runc,color=blue", "gvisor:ipc=none"])
def test_cli_refuses_a_bad_oci_target_in_one_line(spec, tmp_path):
    r = cli("run", "-t", spec, "--reports-dir", str(tmp_path))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr


def test_podman_missing_for_a_user_is_one_line_and_other_targets_keep_their_results(fake_build):
    # A directory every user can read: the fake build and the reports, as uid 65534.
    base = pathlib.Path(tempfile.mkdtemp(prefix="shmconform-oci-", dir="/tmp"))
    try:
        base.chmod(0o755)
        shutil.copytree(fake_build, base / "build")
        for d in [base / "build", *(p for p in (base / "build").rglob("*") if p.is_dir())]:
            d.chmod(0o755)   # pytest's directories are 0700
        reports = base / "reports"
        reports.mkdir()
        reports.chmod(0o777)
        env = {**os.environ, "SHMCONFORM_PODMAN": "/nonexistent/podman", "SHMCONFORM_CACHE": str(base / "cache"),
               "HOME": str(base)}
        (base / "cache").mkdir()
        (base / "cache").chmod(0o777)
        r = cli("run", "-t", "local", "-t", "oci:runc", "--build-dir", str(base / "build"), "--binary",
                "conformance-fake", "--reports-dir", str(reports), "--no-build", env=env, user=65534,
                cwd=readable_copy_of_the_harness(base))
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr + r.stdout
        broken = [ln for ln in r.stdout.splitlines() if "BROKEN" in ln]
        assert len(broken) == 1 and "podman" in broken[0], r.stdout
        report = json.loads((reports / "latest" / "report.json").read_text())
        local = next(t for t in report["targets"] if t["name"] == "local")
        assert local["results"], "the local target's results were lost"
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- detected quirks -----------------------------------------------------------
HYBRID = """31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
UNIFIED = "31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"


def test_hybrid_cgroups_are_detected_from_mountinfo_only():
    assert podman.hybrid_cgroups(HYBRID)
    assert not podman.hybrid_cgroups(UNIFIED)
    assert not podman.hybrid_cgroups(HYBRID.replace("/sys/fs/cgroup/unified", "/sys/fs/cgroup/misc"))


def test_container_rlimits_never_exceed_the_callers_hard_limits():
    import resource
    args = podman.ulimit_args()
    values = dict(a.split("=", 1) for a in args if "=" in a)
    soft, hard = (int(v) for v in values["nofile"].split(":"))
    assert soft <= hard and (resource.getrlimit(resource.RLIMIT_NOFILE)[1] == resource.RLIM_INFINITY
                             or hard <= resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    assert int(values["nproc"].split(":")[1]) <= podman.PODMAN_NPROC_CEILING


# -- wrapped reports and sandbox diagnoses ----------------------------------------
def test_a_framed_report_comes_back_from_a_private_file_system(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    inv = result_framing.frame(Invocation("r1-x", ["/bin/echo", "--gtest_output=json:{R}/r1-x.json"], 0, 10))
    # What the sandbox prints: the binary's output, then the framed report it wrote in there.
    program = inv.argv[2].replace('"$@"', 'echo output; echo \'{"a": 1}\' > "$f"')
    out = subprocess.run(["/bin/sh", "-c", program, "sh", str(tmp_path / "inside.json")], capture_output=True,
                         text=True).stdout
    (results / "r1-x.out").write_text(out)
    assert result_framing.unframe(results, "r1-x")
    assert json.loads((results / "r1-x.json").read_text()) == {"a": 1}
    assert (results / "r1-x.out").read_text().strip() == "output"


def test_gvisor_sandbox_start_failure_names_the_closed_directory(tmp_path):
    closed = tmp_path / "closed"
    (closed / "run" / "scratch").mkdir(parents=True)
    closed.chmod(0o700)
    line = diagnose.cause("creating container: cannot create sandbox: cannot read client sync file: "
                          "waiting for sandbox to start: EOF", runtime="runsc",
                          paths={"TMPDIR": closed / "run" / "scratch"})
    assert str(closed) in line and "0700" in line and "\n" not in line


def test_known_runtime_errors_get_their_cause():
    line = diagnose.cause("Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all "
                          "controllers from cgroupv2", runtime="crun")
    assert "hybrid cgroup" in line and "\n" not in line
    line = diagnose.cause('Error: container create failed (no logs from conmon): conmon bytes "": readObjectStart: '
                          'expect { or n, but found \x00, error', runtime="oci:/usr/bin/true")
    assert "not an OCI runtime" not in line and "is it an OCI runtime" in line and line.isprintable()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("runsc") is None, reason="runsc is not installed (ci/bootstrap.sh oci)")
def test_wrap_runsc_do_brings_the_reports_back_or_says_why_not(fake_build, tmp_path):
    spec = "wrap:runsc --network=none --platform=ptrace do"
    # pytest's tmp_path lies in a 0700 directory: the sandbox cannot start, and says why.
    run = engine.run_target(targets.parse(spec), ctx_for(tmp_path, fake_build), engine.Plan(binaries=["conformance-fake"]))
    assert run.status == "broken" and "cannot start its sandbox" in run.error and "0700" in run.error, run.error
    open_dir = pathlib.Path(tempfile.mkdtemp(prefix="shmconform-wrap-", dir="/tmp"))
    try:
        open_dir.chmod(0o755)
        run = engine.run_target(targets.parse(spec), ctx_for(open_dir, fake_build),
                                    engine.Plan(binaries=["conformance-fake"]))
        statuses = {f"{r.binary}:{r.suite}.{r.name}": r.status for r in run.results}
        assert statuses["conformance-fake:Fake.Passes"] == "pass", statuses
        assert not [k for k, s in statuses.items() if s == "error"], statuses
    finally:
        shutil.rmtree(open_dir, ignore_errors=True)


# -- end to end -------------------------------------------------------------------
E2E_FILTER = "ShmgetTest.*:ShmatTest.PrivilegedCallerAttachesWhateverTheMode"


@pytest.fixture(scope="session")
def static_build() -> pathlib.Path:
    """The static preset's sysv and mmap binaries (the same subset test_vm_targets builds)."""
    return builds.ensure("static", only=["conformance-sysv", "conformance-mmap"])


@pytest.mark.slow
@pytest.mark.skipif(not HAS_PODMAN, reason="podman is not installed (ci/bootstrap.sh oci)")
def test_oci_runc_end_to_end_with_the_container_profile(static_build, tmp_path):
    """The real static binaries in a runc container (about 5 s here once the image exists):
    they pass, the test needing CAP_IPC_OWNER skips with the reason, the profile is recorded,
    and no container is left."""
    state_before = podman.existing_state_dirs()
    ctx = ctx_for(tmp_path, static_build, preset_dirs={"static": static_build})
    target = targets.parse("oci:runc,shm-size=8m")
    run = engine.run_target(target, ctx, engine.Plan(binaries=["conformance-sysv"], gtest_filter=E2E_FILTER))
    assert run.status == "ok", run.error
    results = {f"{r.suite}.{r.name}": r for r in run.results}
    assert any(k.startswith("ShmgetTest.") and r.status == "pass" for k, r in results.items())
    bad = [(k, r.status, r.message[:200]) for k, r in results.items() if r.status not in ("pass", "skip")]
    assert not bad, bad
    privileged = results["ShmatTest.PrivilegedCallerAttachesWhateverTheMode"]
    assert privileged.status == "skip" and "CAP_IPC_OWNER" in privileged.message, privileged
    assert all(r.requirements for r in run.results)
    env = run.environment
    assert env["oci_runtime"] == "runc" and env["ipc_mode"] == "private" and env["dev_shm_kb"] == 8192
    assert "CAP_IPC_OWNER" in env["capabilities_missing"] and env["proc_sys_read_only"] == "yes"
    assert env["oci_runtime_version"].startswith("runc version")
    p = podman.Podman(ctx.cache_dir / "oci")
    assert p.check("ps", "-a", "-q", "--filter", f"label={podman.LABEL}={target.owner}").split() == []
    assert env["oci_image"] in p.check("images", "--format", "{{.Repository}}:{{.Tag}}")
    # A container whose harness was SIGKILLed (its pid label names no live process) goes at the next prepare.
    orphan = p.check("run", "-d", "--runtime=runc", "--label", f"{podman.PID_LABEL}=2147483646", "--network=none",
                     *podman.ulimit_args(), env["oci_image"], "/bin/sleep", "300").strip()
    targets.parse("oci:runc").prepare(ctx)
    assert orphan not in p.check("ps", "-a", "-q", "--no-trunc")
    podman.wait_for_cleanups(p.storage)
    podman.remove_new_empty_state_dirs(state_before)
    assert podman.existing_state_dirs() == state_before, "state directories left in /run or /var/lib"


# -- skip, not fail: a fake container environment ---------------------------------
SYSCTL_TESTS = "ShmgetTest.SizeAboveShmmaxFailsWithEINVAL:ShmgetTest.CreateBeyondShmmniFailsWithENOSPC"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a mount namespace with a read-only /proc/sys")
@pytest.mark.parametrize("read_only", [True, False])
def test_a_read_only_proc_sys_gives_a_skip_with_the_reason(read_only):
    from .conftest import build_dir
    binary = build_dir() / "conformance" / "conformance-sysv"
    # What a container does by default: /proc/sys mounted read-only (here in a private mount
    # namespace of this command only). The control run, writable, passes the same tests.
    remount = "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && " if read_only else ""
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", remount + 'exec "$0" "$@"',
                        str(binary), f"--gtest_filter={SYSCTL_TESTS}", "--gtest_color=no"],
                       capture_output=True, text=True, timeout=120)
    for name in SYSCTL_TESTS.split(":"):
        if read_only:
            assert f"[  SKIPPED ] {name}" in r.stdout, r.stdout[-2000:]
        else:
            assert f"[       OK ] {name}" in r.stdout, r.stdout[-2000:]
    assert ("/proc/sys is read-only here" in r.stdout) == read_only
    assert r.returncode == 0, r.stdout[-2000:]


def test_container_profile_names_each_missing_capability_so_the_card_can_wrap():
    from harness.oci import profile
    line = profile.summary({"oci_runtime": "/usr/bin/runc", "oci_runtime_version": "runc version 1.1.5",
                            "ipc_mode": "private", "capabilities_missing": "CAP_IPC_LOCK,CAP_IPC_OWNER"})
    assert line == "runc 1.1.5 · ipc private · lacks CAP_IPC_LOCK, CAP_IPC_OWNER"
    assert profile.summary({"kernel_release": "6.1"}) is None
