"""The environment probe (harness/probe/probe.c): a static binary per
architecture, compiled into the cache once, that every round script runs."""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import threading

from harness.targets.base import Context, TargetError

PROBE_SOURCE = pathlib.Path(__file__).resolve().parent.parent / "probe" / "probe.c"
COMPILERS = {  # architecture -> C compiler that builds a static probe for it
    "x86_64": "gcc",
    "aarch64": "aarch64-linux-gnu-gcc",
    "armhf": "arm-linux-gnueabihf-gcc",
    "riscv64": "riscv64-linux-gnu-gcc",
}

_probe_lock = threading.Lock()


def probe_binary(ctx: Context, arch: str = "x86_64") -> pathlib.Path:
    """The static probe for arch, compiled into the cache once."""
    with _probe_lock:
        return _probe_binary(ctx, arch)


def _probe_binary(ctx: Context, arch: str) -> pathlib.Path:
    cc = COMPILERS.get(arch)
    if cc is None:
        raise TargetError(f"no C compiler known for the probe on {arch}")
    # Named by the source's content: checkouts of different versions share one cache,
    # and a newer binary of another probe.c must not pass for this one's.
    digest = hashlib.sha256(PROBE_SOURCE.read_bytes()).hexdigest()[:12]
    out = ctx.cache_dir / "probe" / f"shmconform-probe-{arch}-{digest}"
    if out.exists():
        return out
    if not shutil.which(cc):
        raise TargetError(f"{cc} is not installed: cannot build the environment probe for {arch}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    r = subprocess.run([cc, "-static", "-O2", "-o", str(tmp), str(PROBE_SOURCE)], capture_output=True, text=True)
    if r.returncode != 0:
        raise TargetError(f"building the probe with {cc} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    tmp.replace(out)
    return out
