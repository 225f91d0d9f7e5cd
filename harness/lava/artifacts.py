"""What a LAVA job deploys: a kernel, a busybox ramdisk that gives LAVA a shell
prompt, and the suite overlay (the static binaries, the probe, the runner).

The ramdisk holds nothing of shmconform: LAVA unpacks it, adds its own test
shell overlay and ours (a tar.gz unpacked at /), and packs it again, the way a
lab deploys any test on a generic ramdisk. Everything is built into the
harness's cache (by content) or the job's directory; nothing is installed.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pathlib
import shutil
import stat
import subprocess
import tarfile

from harness import kernels

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = ROOT / "ci" / "lava" / "run-suite.sh"
GUEST_SUITE = "/shmconform"          # where the overlay puts the suite in the guest


@dataclasses.dataclass(frozen=True)
class Arch:
    name: str              # LAVA/Debian name: amd64, arm64
    qemu: str              # the qemu-system binary the device runs
    console: str           # the kernel's serial console
    preset: str            # CMake preset of the static binaries
    probe_arch: str        # harness probe architecture (targets.probe_binary)


ARCHES = {
    "amd64": Arch("amd64", "qemu-system-x86_64", "ttyS0", "static", "x86_64"),
    "arm64": Arch("arm64", "qemu-system-aarch64", "ttyAMA0", "aarch64", "aarch64"),
}

# The guest's /init: file systems the tests need, then a shell on the console
# whose prompt ("/ # ") LAVA waits for before it starts the test shell.
INIT = "#!/bin/busybox sh\n" + kernels.GUEST_MOUNTS + "exec setsid cttyhack /bin/sh\n"


class ArtifactError(Exception):
    """One line for the user: a kernel, busybox or binary that cannot be had."""


def arch(name: str) -> Arch:
    if name not in ARCHES:
        raise ArtifactError(f"lava: unknown architecture '{name}' (choose from {', '.join(ARCHES)})")
    return ARCHES[name]


def _is_arm64_image(path: pathlib.Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(0x40)
    # An arm64 Image has "ARM\x64" at 0x38; Debian's vmlinuz is it gzip'd; EFI zboot starts "MZ".
    return head[0x38:0x3C] == b"ARM\x64" or head[:2] in (b"\x1f\x8b", b"MZ")


def kernel(arg: str, a: Arch, cache: pathlib.Path) -> pathlib.Path:
    """The kernel image for a vmlinuz path or a Debian package name (fetched into the cache)."""
    path = pathlib.Path(arg)
    if a.name == "arm64" and ("/" in arg or path.exists()):
        if not path.is_file():
            raise ArtifactError(f"lava: no such kernel file: {arg}")
        if not _is_arm64_image(path):
            raise ArtifactError(f"lava: {arg} is not an arm64 kernel image (Image or vmlinuz)")
        return path.resolve()
    return kernels.resolve(arg, cache, error=ArtifactError).resolve()


def busybox(a: Arch, cache: pathlib.Path) -> pathlib.Path:
    """A static busybox for the architecture: this machine's, or busybox-static:ARCH
    downloaded and unpacked into the cache (never installed)."""
    if a.name == "amd64" and os.uname().machine == "x86_64":
        if not kernels.BUSYBOX.is_file():
            raise ArtifactError("lava: /bin/busybox is missing (apt-get install busybox-static)")
        return kernels.BUSYBOX
    # The kernels module's own foreign-architecture fetch, where it has one (a private
    # package index: no dpkg --add-architecture needed).
    fetch = getattr(kernels, "busybox_for", None)
    if fetch is not None:
        return fetch(a.name, cache, ArtifactError)
    out = cache / "lava" / f"busybox-{a.name}"
    if out.is_file():
        return out
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pkg = f"busybox-static:{a.name}"
    r = subprocess.run(["apt-get", "download", "-q", pkg], cwd=debs, capture_output=True, text=True)
    found = sorted(debs.glob(f"busybox-static_*_{a.name}.deb"))
    if not found:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise ArtifactError(f"lava: cannot download {pkg} (dpkg --add-architecture {a.name}; "
                            f"apt-get update): {last}")
    tmp = cache / "lava" / f"busybox-{a.name}.unpack"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    r = subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(tmp)], capture_output=True, text=True)
    if r.returncode != 0 or not (tmp / "bin" / "busybox").is_file():
        raise ArtifactError(f"lava: cannot unpack {found[-1].name}")
    (tmp / "bin" / "busybox").replace(out)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def ramdisk(a: Arch, cache: pathlib.Path, busybox_path: pathlib.Path | None = None) -> pathlib.Path:
    """busybox (the architecture's, or busybox_path) + /init as a gzip'd newc cpio; cached by content."""
    if busybox_path is not None and not busybox_path.is_file():
        raise ArtifactError(f"lava: no such busybox: {busybox_path}")
    bb = busybox_path or busybox(a, cache)
    data = bb.read_bytes()
    digest = hashlib.sha256(INIT.encode() + data).hexdigest()[:16]
    out = cache / "lava" / f"ramdisk-{a.name}-{digest}.cpio.gz"
    if out.exists():
        return out
    c = kernels._Cpio()  # the harness's own newc writer: no cpio tool, no root for /dev/console
    for d in ("bin", "dev", "proc", "sys", "tmp", "root"):
        c.dir(d)
    c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    c.file("bin/busybox", data)
    c.file("init", INIT.encode())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(gzip.compress(c.finish(), compresslevel=6))
    tmp.replace(out)
    return out


def conformance_binaries(bins: pathlib.Path) -> list[pathlib.Path]:
    found = sorted(p for p in (bins / "conformance").glob("conformance-*")
                   if p.is_file() and os.access(p, os.X_OK))
    if not found:
        raise ArtifactError(f"lava: no conformance binaries in {bins / 'conformance'}: build first")
    return found


def suite_overlay(binaries: list[pathlib.Path], probe: pathlib.Path | None, out: pathlib.Path,
                  filters: dict[str, str] | None = None) -> pathlib.Path:
    """The overlay LAVA unpacks at / in the guest: shmconform/bin/<binaries>,
    shmconform/bin/shmconform-probe, shmconform/run-suite.sh and, when given,
    shmconform/filters (the binaries to run, each with its gtest filter)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(src: pathlib.Path, name: str, mode: int) -> None:
            src = src.resolve()  # a build may link its binaries: the guest needs the files
            info = tar.gettarinfo(str(src), arcname=name)
            info.mode, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, "root", "root"
            with open(src, "rb") as f:
                tar.addfile(info, f)

        def add_dir(name: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)

        add_dir("shmconform")
        add_dir("shmconform/bin")
        for b in binaries:
            add(b, f"shmconform/bin/{b.name}", 0o755)
        if probe is not None:
            add(probe, "shmconform/bin/shmconform-probe", 0o755)
        add(RUNNER, "shmconform/run-suite.sh", 0o755)
        if filters is not None:
            text = "".join(f"{name} {flt or '*'}\n" for name, flt in filters.items()).encode()
            info = tarfile.TarInfo("shmconform/filters")
            info.size, info.mode = len(text), 0o644
            tar.addfile(info, io.BytesIO(text))
    tmp = out.with_name(f"{out.name}.tmp")
    # Level 1: 3x faster than 6 for ~10 % more bytes (written every round of the lava: target).
    tmp.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))
    tmp.replace(out)
    return out
