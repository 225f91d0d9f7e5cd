"""Kernels and initramfs images for the qemu target.

A kernel is a file (bzImage/vmlinuz) or a Debian package name. A package is
fetched with `apt-get download` into the harness's cache and unpacked with
`dpkg-deb` there: never installed, the system's /boot and bootloader are
never touched. Meta-packages (linux-image-cloud-amd64) are followed to the
package holding the image.

The initramfs is a gzip'd newc cpio written here in Python (no cpio tool or
root needed for the /dev/console node): busybox-static, the static test
binaries and the probe; each boot appends a small uncompressed cpio holding
that round's script (the kernel unpacks concatenated archives in order).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import re
import shlex
import shutil
import stat
import subprocess
import threading

GUEST_BIN = "/shmconform/bin"
GUEST_PROBE = "/shmconform/bin/shmconform-probe"
BUSYBOX = pathlib.Path("/bin/busybox")
_lock = threading.Lock()
_apt_updated = False

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm /results /tmp
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
exec sh /round.sh
"""


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["?"])[-1]


def _apt_download(pkg: str, dest: pathlib.Path, error) -> pathlib.Path:
    global _apt_updated
    cached = sorted(dest.glob(f"{pkg}_*.deb"))
    if cached:
        return cached[-1]
    for attempt in (1, 2):
        r = subprocess.run(["apt-get", "download", "-q", pkg], cwd=dest, capture_output=True, text=True)
        debs = sorted(dest.glob(f"{pkg}_*.deb"))
        if r.returncode == 0 and debs:
            return debs[-1]
        if attempt == 1 and not _apt_updated and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            _apt_updated = True
            continue
        raise error(f"qemu: cannot download Debian package '{pkg}': {_last_line(r.stderr)}")
    raise AssertionError


def resolve(arg: str, cache: pathlib.Path, error) -> pathlib.Path:
    """The kernel image for a qemu:ARG target."""
    path = pathlib.Path(arg)
    if "/" in arg or path.exists():
        if not path.is_file():
            raise error(f"qemu: no such kernel file: {arg}")
        with open(path, "rb") as f:
            head = f.read(0x210)
        # A bzImage has "HdrS" at 0x202; a raw ELF vmlinux has the ELF magic.
        if head[0x202:0x206] != b"HdrS" and head[:4] != b"\x7fELF":
            raise error(f"qemu: {arg} is not an x86 kernel image (bzImage/vmlinuz)")
        if not os.access(path, os.R_OK):
            raise error(f"qemu: cannot read {arg}")
        return path
    if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", arg):
        raise error(f"qemu: '{arg}' is neither a kernel file nor a Debian package name")
    if not shutil.which("apt-get"):
        raise error("qemu: apt-get is not available to download kernel packages")
    with _lock:
        pkg = arg
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        for _ in range(4):
            unpacked = cache / "kernels" / pkg
            images = sorted(unpacked.glob("boot/vmlinuz-*"))
            if images:
                return images[-1]
            deb = _apt_download(pkg, debs, error)
            listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
            if "./boot/vmlinuz-" in listing:
                tmp = unpacked.with_name(pkg + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
                # Only ./boot: the image is all qemu needs (modules stay packed).
                r = subprocess.run(f"dpkg-deb --fsys-tarfile {shlex.quote(str(deb))} | tar -C {shlex.quote(str(tmp))}"
                                   " -xf - ./boot", shell=True, capture_output=True, text=True)
                if r.returncode != 0:
                    raise error(f"qemu: cannot unpack {deb.name}: {_last_line(r.stderr)}")
                shutil.rmtree(unpacked, ignore_errors=True)
                tmp.rename(unpacked)
                continue
            depends = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True).stdout
            nxt = [d.strip().split()[0] for d in depends.split(",") if d.strip().startswith("linux-image-")]
            if not nxt:
                raise error(f"qemu: Debian package '{pkg}' holds no kernel image (boot/vmlinuz-*)")
            pkg = nxt[0]
        raise error(f"qemu: could not find a kernel image through '{arg}'")


class _Cpio:
    def __init__(self):
        self.parts: list[bytes] = []
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.parts += [hdr, name_b, b"\0" * ((4 - (len(hdr) + len(name_b)) % 4) % 4),
                       data, b"\0" * ((4 - len(data) % 4) % 4)]

    def dir(self, name):
        self.add(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o755):
        self.add(name, stat.S_IFREG | mode, data)

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        out = b"".join(self.parts)
        return out + b"\0" * ((512 - len(out) % 512) % 512)


def base_initramfs(bins: pathlib.Path, probe: pathlib.Path, cache: pathlib.Path, error) -> pathlib.Path:
    """busybox + static binaries + probe + /init, gzip'd; cached by content."""
    if not BUSYBOX.is_file():
        raise error("qemu: /bin/busybox is missing (apt-get install busybox-static)")
    files = [BUSYBOX, probe]
    for sub in ("conformance", "stress"):
        files += sorted(p for p in (bins / sub).glob(f"{sub}-*") if p.is_file() and os.access(p, os.X_OK))
    h = hashlib.sha256(INIT.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    out = cache / "initramfs" / f"base-{h.hexdigest()[:16]}.cpio.gz"
    if out.exists():
        return out
    c = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "tmp", "results", "shmconform", "shmconform/bin"):
        c.dir(d)
    c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    c.file("bin/busybox", BUSYBOX.read_bytes())
    c.file("init", INIT.encode())
    c.file("shmconform/bin/shmconform-probe", probe.read_bytes())
    for f in files[2:]:
        c.file(f"shmconform/bin/{f.name}", f.read_bytes())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(gzip.compress(c.finish(), compresslevel=1))
    tmp.replace(out)
    return out


def round_initramfs(base: pathlib.Path, round_script: str, out: pathlib.Path) -> None:
    c = _Cpio()
    c.file("round.sh", round_script.encode())
    data = base.read_bytes()
    # The kernel looks for the next archive at a 4-byte aligned offset, skipping zeros.
    out.write_bytes(data + b"\0" * ((512 - len(data) % 512) % 512) + c.finish())
