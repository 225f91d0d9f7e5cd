"""Kernels and initramfs images for the qemu target.

A kernel is a file (vmlinuz) or a Debian package name, of any architecture
the harness has a machine for (harness/machines.py): the architecture is read
from the image itself (identify). A package is fetched with `apt-get download`
into the harness's cache and unpacked with `dpkg-deb` there: never installed,
the system's /boot and bootloader are never touched. Meta-packages
(linux-image-cloud-amd64) are followed to the package holding the image.
A package of another Debian architecture (linux-image-6.12-arm64-16k, or
PACKAGE:ARCH) is looked up in a package index of that architecture the
harness keeps in its cache (apt-get's own options, no `dpkg
--add-architecture`: the system's architectures and lists stay as they are);
that architecture's busybox-static comes the same way.

The initramfs is a gzip'd newc cpio written here in Python (no cpio tool or
root needed for the /dev/console node): busybox-static, the static test
binaries and the probe; each boot appends a small uncompressed cpio holding
that round's script (the kernel unpacks concatenated archives in order).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
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
_lock = threading.RLock()

# What every busybox guest's /init starts with (this module's and LAVA's,
# harness/lava/artifacts.py): applets, the kernel's file systems, and tmpfs
# on /dev/shm and /tmp, which the tests need.
GUEST_MOUNTS = """/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm /results /tmp
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
"""

INIT = """#!/bin/busybox sh
""" + GUEST_MOUNTS + """for m in /shmconform/modules/*.ko; do [ -f "$m" ] && insmod "$m"; done
case " $(cat /proc/cmdline) " in *" shmconform.ports=virtio "*)
  # Named virtio serial ports (machines.py) get stable names; their devices
  # appear a moment after the driver binds (or its module loads).
  n=0
  while [ ! -e /dev/shmconform.live ] && [ $n -lt 100 ]; do
    for d in /sys/class/virtio-ports/*; do
      name=$(cat "$d/name" 2>/dev/null)
      [ -n "$name" ] && [ -e "/dev/${d##*/}" ] && ln -sf "/dev/${d##*/}" "/dev/$name"
    done
    sleep 0.1; n=$((n+1))
  done;;
esac
exec sh /round.sh
"""


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["?"])[-1]


@dataclasses.dataclass(frozen=True)
class KernelImage:
    """What a kernel image file says about itself."""
    arch: str                  # x86_64, aarch64, armhf, riscv64 (the names of harness/machines.py)
    format: str                # bzImage, arm64 Image, zImage, riscv Image, ELF vmlinux
    page_size: int | None = None   # arm64 Image header: the kernel's page size
    compression: str = ""      # "gzip" when the file is a gzip'd image (Debian's arm64 vmlinuz)


ELF_MACHINES = {62: "x86_64", 183: "aarch64", 40: "armhf", 243: "riscv64"}
ARM64_PAGE_SIZES = {1: 4096, 2: 16384, 3: 65536}   # Image header flags bits 1-2 (0: unspecified)


def identify_bytes(head: bytes) -> KernelImage | None:
    """The architecture of a kernel image from its first bytes (after decompression);
    None when no known header is there. Offsets from each architecture's boot protocol."""
    if head[:2] == b"\x1f\x8b":
        try:
            inner = gzip.GzipFile(fileobj=io.BytesIO(head)).read(0x1000)
        except (OSError, EOFError):
            return None
        found = identify_bytes(inner)
        return dataclasses.replace(found, compression="gzip") if found else None
    if head[0x202:0x206] == b"HdrS":                          # x86 boot protocol
        return KernelImage("x86_64", "bzImage")
    if head[0x38:0x3C] == b"ARM\x64":                         # arm64 Image
        flags = int.from_bytes(head[0x18:0x20], "little")
        return KernelImage("aarch64", "arm64 Image", ARM64_PAGE_SIZES.get((flags >> 1) & 3))
    if head[0x24:0x28] == b"\x18\x28\x6f\x01":                # arm zImage magic 0x016f2818
        return KernelImage("armhf", "zImage")
    if head[0x38:0x3C] == b"RSC\x05" or head[0x30:0x38] == b"RISCV\0\0\0":   # riscv Image
        return KernelImage("riscv64", "riscv Image")
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        machine = int.from_bytes(head[18:20], "little")
        if machine in ELF_MACHINES:
            return KernelImage(ELF_MACHINES[machine], "ELF vmlinux")
    return None


def identify(path: pathlib.Path) -> KernelImage | None:
    with open(path, "rb") as f:
        head = f.read(1 << 20)   # enough gzip input for the header of the image inside
    return identify_bytes(head)


# Debian kernel flavours (the package name's suffix) and the Debian architecture that has them.
FLAVOUR_ARCH = (("-arm64-16k", "arm64"), ("-arm64", "arm64"), ("-armmp-lpae", "armhf"), ("-armmp", "armhf"),
                ("-riscv64", "riscv64"), ("-amd64", "amd64"), ("-686-pae", "i386"), ("-686", "i386"))


def native_arch() -> str:
    r = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    return r.stdout.strip() or "amd64"


def package_arch(spec: str) -> tuple[str, str]:
    """(package, Debian architecture) of PACKAGE or PACKAGE:ARCH; the flavour suffix
    tells the architecture when none is named."""
    pkg, _, arch = spec.partition(":")
    if arch:
        return pkg, arch
    name = pkg.removesuffix("-unsigned")
    for suffix, deb_arch in FLAVOUR_ARCH:
        if name.endswith(suffix):
            return pkg, deb_arch
    return pkg, native_arch()


class _Apt:
    """apt-get for one Debian architecture. The native one uses the system's
    lists; another gets its own lists and cache under the harness's cache, so
    the system's dpkg architectures and lists are never changed."""

    def __init__(self, deb_arch: str, cache: pathlib.Path):
        self.arch = deb_arch
        self.native = deb_arch == native_arch()
        self.state = cache / "apt" / deb_arch
        self.updated = False

    def options(self) -> list[str]:
        if self.native:
            return []
        return ["-o", f"Dir::State::Lists={self.state}/lists", "-o", f"Dir::Cache={self.state}/cache",
                "-o", f"APT::Architecture={self.arch}", "-o", f"APT::Architectures::={self.arch}"]

    def update(self) -> None:
        if self.native and os.geteuid() != 0:
            return
        for d in ("lists/partial", "cache/archives/partial"):
            (self.state / d).mkdir(parents=True, exist_ok=True)
        # One index may fail while a mirror syncs ("File has unexpected size"); the
        # others still load, so a failed update is not fatal: the download says.
        subprocess.run(["apt-get", *self.options(), "update", "-qq"], capture_output=True)
        self.updated = True

    def download(self, pkg: str, dest: pathlib.Path, error) -> pathlib.Path:
        cached = sorted(dest.glob(f"{pkg}_*_{self.arch}.deb")) + sorted(dest.glob(f"{pkg}_*_all.deb"))
        if cached:
            return cached[-1]
        if not self.native and not (self.state / "lists").is_dir():
            self.update()
        for attempt in (1, 2):
            r = subprocess.run(["apt-get", *self.options(), "download", "-q", pkg], cwd=dest,
                               capture_output=True, text=True)
            debs = sorted(dest.glob(f"{pkg}_*_{self.arch}.deb")) + sorted(dest.glob(f"{pkg}_*_all.deb"))
            if r.returncode == 0 and debs:
                return debs[-1]
            if attempt == 1 and not self.updated:
                self.update()
                continue
            where = "" if self.native else f" ({self.arch} package index in {self.state})"
            raise error(f"qemu: cannot download Debian package '{pkg}'{where}: {_last_line(r.stderr)}")
        raise AssertionError


_apts: dict[tuple[str, str], _Apt] = {}


def _apt(deb_arch: str, cache: pathlib.Path) -> _Apt:
    return _apts.setdefault((deb_arch, str(cache)), _Apt(deb_arch, cache))


def _check_file(arg: str, error) -> pathlib.Path:
    path = pathlib.Path(arg)
    if not path.is_file():
        raise error(f"qemu: no such kernel file: {arg}")
    if not os.access(path, os.R_OK):
        raise error(f"qemu: cannot read {arg}")
    if identify(path) is None:
        raise error(f"qemu: {arg} is not a kernel image the harness knows (bzImage, arm64 Image, "
                    f"arm zImage, riscv Image, ELF vmlinux; gzip'd or not)")
    return path


# What is unpacked from a kernel package: the image and config, and the modules a
# guest may need to talk back (virtio console over PCI) when they are not built in.
UNPACK = ["./boot", "--wildcards", "./lib/modules/*/kernel/drivers/virtio/*",
          "./lib/modules/*/kernel/drivers/char/virtio_console.ko*"]


def resolve(arg: str, cache: pathlib.Path, error) -> pathlib.Path:
    """The kernel image for a qemu:ARG target (a file, or PACKAGE[:DEBIAN-ARCH])."""
    if "/" in arg or pathlib.Path(arg).exists():
        return _check_file(arg, error)
    if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]+(:[a-z0-9]+)?", arg):
        raise error(f"qemu: '{arg}' is neither a kernel file nor a Debian package name")
    if not shutil.which("apt-get"):
        raise error("qemu: apt-get is not available to download kernel packages")
    pkg, deb_arch = package_arch(arg)
    with _lock:
        apt = _apt(deb_arch, cache)
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        for _ in range(4):
            unpacked = cache / "kernels" / (pkg if apt.native else f"{pkg}_{deb_arch}")
            images = sorted(unpacked.glob("boot/vmlinuz-*"))
            if images:
                return images[-1]
            deb = apt.download(pkg, debs, error)
            listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
            if "./boot/vmlinuz-" in listing:
                tmp = unpacked.with_name(unpacked.name + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
                # The image, and the few modules a guest needs (the rest stay packed).
                r = subprocess.run(f"dpkg-deb --fsys-tarfile {shlex.quote(str(deb))} | tar -C {shlex.quote(str(tmp))}"
                                   f" -xf - {' '.join(shlex.quote(u) for u in UNPACK)}", shell=True,
                                   capture_output=True, text=True)
                if not any(tmp.glob("boot/vmlinuz-*")):
                    raise error(f"qemu: cannot unpack {deb.name}: {_last_line(r.stderr)}")
                shutil.rmtree(unpacked, ignore_errors=True)
                tmp.rename(unpacked)
                continue
            depends = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True).stdout
            nxt = [d.strip().split()[0] for d in depends.split(",") if d.strip().startswith("linux-image-")]
            if not nxt:
                raise error(f"qemu: Debian package '{pkg}' holds no kernel image (boot/vmlinuz-*)")
            pkg = nxt[0].split(":")[0]
        raise error(f"qemu: could not find a kernel image through '{arg}'")


def busybox_for(deb_arch: str, cache: pathlib.Path, error) -> pathlib.Path:
    """A static busybox for the guest: this system's for the native architecture,
    else busybox-static of that Debian architecture, unpacked into the cache."""
    apt = _apt(deb_arch, cache)
    if apt.native:
        if not BUSYBOX.is_file():
            raise error("qemu: /bin/busybox is missing (apt-get install busybox-static)")
        return BUSYBOX
    out = cache / "busybox" / deb_arch / "busybox"
    with _lock:
        if out.is_file():
            return out
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        deb = apt.download("busybox-static", debs, error)
        tmp = out.parent / "unpack.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        r = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True)
        if r.returncode != 0 or not (tmp / "bin/busybox").is_file():
            raise error(f"qemu: cannot unpack {deb.name}: {_last_line(r.stderr)}")
        (tmp / "bin/busybox").replace(out)
        shutil.rmtree(tmp, ignore_errors=True)
        return out


def kernel_config(image: pathlib.Path) -> dict[str, str]:
    """CONFIG_* of the image's config-RELEASE file beside it ({} when there is none)."""
    release = image.name.removeprefix("vmlinuz-")
    cfg = image.with_name(f"config-{release}")
    if not image.name.startswith("vmlinuz-") or not cfg.is_file():
        return {}
    out = {}
    for line in cfg.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("CONFIG_"):
            out[key] = value
    return out


def _module_depends(ko: bytes) -> list[str]:
    """The depends= entry of a module's .modinfo (modules.dep is made at install time,
    so an unpacked package has none)."""
    at = ko.find(b"\0depends=")
    if at < 0:
        return []
    value = ko[at + 9:ko.index(b"\0", at + 9)].decode(errors="replace")
    return [d.replace("-", "_") for d in value.split(",") if d]


def console_modules(image: pathlib.Path, wanted=("virtio_pci", "virtio_console")) -> list[pathlib.Path]:
    """The modules (with their dependencies, in load order) that give the guest its
    virtio consoles when the kernel has them as modules; [] when built in or unknown."""
    config = kernel_config(image)
    if config.get("CONFIG_VIRTIO_CONSOLE") != "m" and config.get("CONFIG_VIRTIO_PCI") != "m":
        return []
    release = image.name.removeprefix("vmlinuz-")
    moddir = image.parent.parent / "lib" / "modules" / release
    files = {ko.name.split(".ko")[0].replace("-", "_"): ko for ko in moddir.rglob("*.ko")}
    order: list[pathlib.Path] = []

    def visit(name: str) -> None:
        ko = files.get(name)
        if ko is None or ko in order:
            return
        for dep in _module_depends(ko.read_bytes()):
            visit(dep)
        order.append(ko)
    for name in wanted:
        visit(name)
    return order


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


def base_initramfs(bins: pathlib.Path, probe: pathlib.Path, cache: pathlib.Path, error,
                   busybox: pathlib.Path = BUSYBOX, modules: list[pathlib.Path] = ()) -> pathlib.Path:
    """busybox + static binaries + probe + /init (+ modules /init loads, in order), gzip'd;
    cached by content."""
    if not busybox.is_file():
        raise error(f"qemu: {busybox} is missing (apt-get install busybox-static)")
    files = [busybox, probe, *modules]
    for sub in ("conformance", "stress"):
        files += sorted(p for p in (bins / sub).glob(f"{sub}-*") if p.is_file() and os.access(p, os.X_OK))
    h = hashlib.sha256(INIT.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    out = cache / "initramfs" / f"base-{h.hexdigest()[:16]}.cpio.gz"
    with _lock:   # two targets of one architecture share this image: written once
        if not out.exists():
            _write_base(out, busybox, probe, modules, files[2 + len(modules):])
    return out


def _write_base(out: pathlib.Path, busybox: pathlib.Path, probe: pathlib.Path, modules, binaries) -> None:
    c = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "tmp", "results", "shmconform", "shmconform/bin", "shmconform/modules"):
        c.dir(d)
    c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    c.file("bin/busybox", busybox.read_bytes())
    c.file("init", INIT.encode())
    c.file("shmconform/bin/shmconform-probe", probe.read_bytes())
    for i, m in enumerate(modules):   # numbered: the glob in /init loads them in this order
        c.file(f"shmconform/modules/{i:02d}-{m.name}", m.read_bytes(), mode=0o644)
    for f in binaries:
        c.file(f"shmconform/bin/{f.name}", f.read_bytes())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(gzip.compress(c.finish(), compresslevel=1))
    tmp.replace(out)


def round_initramfs(base: pathlib.Path, round_script: str, out: pathlib.Path,
                    files: dict[str, bytes] | None = None) -> None:
    """The base image plus the round script, and `files` (guest path -> content: tools one
    round needs, such as the proofs' strace), their directories made first."""
    c = _Cpio()
    c.file("round.sh", round_script.encode())
    made: set[str] = set()
    for path, data in sorted((files or {}).items()):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                made.add(d)
                c.dir(d)
        c.file("/".join(parts), data)
    data = base.read_bytes()
    # The kernel looks for the next archive at a 4-byte aligned offset, skipping zeros.
    out.write_bytes(data + b"\0" * ((512 - len(data) % 512) % 512) + c.finish())
