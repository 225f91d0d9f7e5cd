"""Builds of the CMake presets the targets need (static for VMs and ssh, the
cross presets for qemu-user): configured when missing, then an incremental
build, once per preset per process. Logs go to build/<preset>/last-build.log."""
from __future__ import annotations

import fcntl
import pathlib
import re
import shutil
import subprocess
import threading

ROOT = pathlib.Path(__file__).resolve().parent.parent
CROSS_COMPILERS = {"aarch64": "aarch64-linux-gnu-g++", "armhf": "arm-linux-gnueabihf-g++",
                   "riscv64": "riscv64-linux-gnu-g++"}
_locks: dict[str, threading.Lock] = {}
_done: set[str] = set()
_guard = threading.Lock()


def ensure(preset: str, *, allow_build: bool = True, error=RuntimeError, root: pathlib.Path = ROOT,
           only: list[str] | None = None) -> pathlib.Path:
    """build/<preset>, built; `error` (an exception class) with one line when impossible."""
    out = root / "build" / preset
    with _guard:
        lock = _locks.setdefault(preset, threading.Lock())
    (root / "build").mkdir(exist_ok=True)
    with lock, open(root / "build" / f".{preset}.lock", "w") as lockfile:
        fcntl.flock(lockfile, fcntl.LOCK_EX)  # another harness process may build it right now
        if preset in _done:
            return out
        have = (out / "conformance").is_dir()
        if not allow_build:
            if not have:
                raise error(f"no {preset} build in {out} (build it: cmake --preset {preset} && "
                            f"cmake --build --preset {preset})")
            return out
        cxx = CROSS_COMPILERS.get(preset)
        if cxx and not shutil.which(cxx):
            raise error(f"no {preset} cross build and no {cxx} to make one "
                        f"(apt-get install g++-{cxx.removesuffix('-g++')})")
        if not (out / "build.ninja").exists():
            r = subprocess.run(["cmake", "--preset", preset], cwd=root, capture_output=True, text=True)
            if r.returncode != 0:
                raise error(f"configuring preset {preset} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        if only is None:
            # Only what the harness runs (not the support library's own tests).
            listed = subprocess.run(["ninja", "-C", str(out), "-t", "targets", "all"], capture_output=True,
                                    text=True).stdout
            only = sorted({line.split(":")[0] for line in listed.splitlines()
                           if re.match(r"^(conformance|stress|bench)-[A-Za-z0-9_-]+: ", line)}) or None
            whole = True
        else:
            whole = False
        log = out / "last-build.log"
        with open(log, "wb") as f:
            r = subprocess.run(["cmake", "--build", "--preset", preset, "-j2",
                                *(["--target", *only] if only else [])], cwd=root, stdout=f,
                               stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise error(f"building preset {preset} failed; see {log}")
        if whole:
            _done.add(preset)
        return out
