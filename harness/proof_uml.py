"""`uml:PATCH` breakers: a user-mode-linux kernel built from Debian's
linux-source with conformance/proofs/uml/PATCH.patch applied, for behaviours
nothing in user space can fake (the si_code of a fault, say). The kernel is
built once into the cache and reused: the first about 20 minutes on 2 loaded
cores (measured: 20 min 14 s at load average 15, nice 19, -j2), each further
patch about a minute, as the configured source tree is kept.

run() boots a kernel with the host's root through hostfs, runs one conformance
binary with a gtest filter and returns its cases; the unbroken baseline is the
same run on Debian's own /usr/bin/linux.uml."""
from __future__ import annotations

import fcntl
import glob
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import tempfile

from harness import gtest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATCH_DIR = ROOT / "conformance" / "proofs" / "uml"
STOCK_KERNEL = pathlib.Path("/usr/bin/linux.uml")
BOOT_TIMEOUT_S = 300
BUILD_TIMEOUT_S = 3 * 3600
# On top of `make ARCH=um defconfig`: what the suite needs, no modules.
CONFIG = ["-e", "HOSTFS", "-e", "SYSVIPC", "-e", "IPC_NS", "-e", "USER_NS", "-e", "PID_NS", "-e", "NAMESPACES",
          "-e", "TMPFS", "-e", "SHMEM", "-e", "MEMFD_CREATE", "-e", "UTS_NS", "-e", "UNIX98_PTYS",
          "-e", "BINFMT_ELF", "-d", "MODULES"]


class UmlError(Exception):
    """The kernel could not be built or booted; the message says why."""


def patch_path(name: str) -> pathlib.Path:
    return PATCH_DIR / f"{name}.patch"


def cache_dir() -> pathlib.Path:
    env = os.environ.get("SHMCONFORM_CACHE")
    base = pathlib.Path(env) if env else pathlib.Path(os.environ.get("XDG_CACHE_HOME") or
                                                      pathlib.Path.home() / ".cache") / "shmconform"
    return base / "uml-proof"


def built_kernel(name: str) -> pathlib.Path:
    return cache_dir() / name / "linux"


def _source_tarball(cache: pathlib.Path) -> pathlib.Path:
    """Debian's linux-source tarball: the installed one, else downloaded (never installed)."""
    found = sorted(glob.glob("/usr/src/linux-source-*.tar.xz")) + sorted(glob.glob(str(cache / "usr/src/linux-source-*.tar.xz")))
    if found:
        return pathlib.Path(found[-1])
    cache.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["apt-get", "download", "linux-source-6.1"], cwd=cache, capture_output=True, text=True)
    debs = sorted(cache.glob("linux-source-*.deb"))
    if r.returncode != 0 or not debs:
        raise UmlError(f"apt-get download linux-source-6.1 failed: {r.stderr.strip()[-200:]}")
    subprocess.run(f"dpkg-deb --fsys-tarfile {shlex.quote(str(debs[-1]))} | tar -x --wildcards './usr/src/*.tar.xz'",
                   shell=True, cwd=cache, check=True)
    return sorted(cache.glob("usr/src/linux-source-*.tar.xz"))[-1]


def _configured_tree(cache: pathlib.Path, log) -> pathlib.Path:
    """The unpatched source tree, configured for UML, kept in the cache so that each
    patch after the first rebuilds only what it touches (seconds, not minutes)."""
    tree = cache / "tree"
    marker = tree / ".shmconform-configured"
    if marker.exists():
        return next(p for p in tree.iterdir() if p.is_dir())
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(_source_tarball(cache)), "-C", str(tree)], check=True)
    src = next(p for p in tree.iterdir() if p.is_dir())
    for step in (["make", "ARCH=um", "defconfig"], ["./scripts/config", *CONFIG], ["make", "ARCH=um", "olddefconfig"]):
        if subprocess.run(step, cwd=src, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode:
            raise UmlError(f"configuring the UML kernel: {' '.join(step)} failed")
    marker.touch()
    return src


def build(name: str, log=None) -> pathlib.Path:
    """The patched kernel, built into the cache when missing: the first about 20 minutes
    on 2 loaded cores, each further patch about a minute (the tree is kept)."""
    kernel = built_kernel(name)
    if kernel.exists():
        return kernel
    patch = patch_path(name)
    if not patch.is_file():
        raise UmlError(f"no kernel patch {patch}")
    for tool in ("make", "gcc", "flex", "bison", "bc", "patch", "xz"):
        if not shutil.which(tool):
            raise UmlError(f"{tool} is missing (apt-get install flex bison bc build-essential xz-utils patch)")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "tree.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time in the shared tree
        if kernel.exists():
            return kernel
        src = _configured_tree(cache, log)
        if subprocess.run(["patch", "-p1", "-i", str(patch)], cwd=src, stdout=log or subprocess.DEVNULL,
                          stderr=subprocess.STDOUT).returncode:
            shutil.rmtree(cache / "tree", ignore_errors=True)
            raise UmlError(f"{patch.name} does not apply to {src.name}")
        try:
            r = subprocess.run(["nice", "-n", "19", "make", "ARCH=um", f"-j{os.cpu_count() or 2}", "linux"], cwd=src,
                               stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_S)
            if r.returncode:
                raise UmlError(f"building the {name} kernel failed (make exit {r.returncode})")
            kernel.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / "linux", kernel)
        finally:
            if subprocess.run(["patch", "-p1", "-R", "-i", str(patch)], cwd=src, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT).returncode:
                shutil.rmtree(cache / "tree", ignore_errors=True)  # not the pristine tree any more
        return kernel


def run(kernel: pathlib.Path, binary: pathlib.Path, gtest_filter: str,
        work_dir: pathlib.Path) -> tuple[dict[str, gtest.Case] | None, str]:
    """Full test name -> case of one run of binary in the UML kernel; (None, why) on no report."""
    work_dir.mkdir(parents=True, exist_ok=True)
    box = pathlib.Path(tempfile.mkdtemp(prefix="uml.", dir=work_dir))
    scratch = box / "scratch"
    scratch.mkdir()
    report = box / "report.json"
    init = box / "init.sh"
    q = shlex.quote
    init.write_text("\n".join([
        "#!/bin/sh",
        "export PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "mount -t proc proc /proc; mount -t sysfs sys /sys 2>/dev/null; mount -t devtmpfs dev /dev 2>/dev/null",
        "mkdir -p /dev/shm; mount -t tmpfs shm /dev/shm",
        f"mount -t tmpfs scratch {q(str(scratch))}",
        f"SHMCONFORM_TMPDIR={q(str(scratch))} {q(str(binary))} --gtest_filter={q(gtest_filter)} "
        f"--gtest_output=json:{q(str(report))} --gtest_brief=1 >{q(str(box / 'output.txt'))} 2>&1",
        "sync; halt -f 2>/dev/null || poweroff -f; echo o > /proc/sysrq-trigger", ""]))
    init.chmod(0o755)
    proc = subprocess.Popen([str(kernel), "mem=512M", "rootfstype=hostfs", "rw", f"init={init}", "con=null",
                             "con0=fd:0,fd:1", f"uml_dir={box}", "quiet", "pty.legacy_count=0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "TMPDIR": str(box)}, start_new_session=True)
    try:
        console, _ = proc.communicate(timeout=BOOT_TIMEOUT_S)
        if not report.exists():
            return None, f"no report from the UML run (exit {proc.returncode}): {console.decode(errors='replace')[-300:]}"
        return {c.full_name: c for c in gtest.parse_json(report.read_text())}, ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the kernel and its helper processes
        proc.communicate()
        return None, f"the UML kernel did not halt within {BOOT_TIMEOUT_S} s"
    except gtest.GtestError as e:
        return None, f"bad report from the UML run: {e}"
    finally:
        shutil.rmtree(box, ignore_errors=True)
