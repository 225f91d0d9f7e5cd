"""The container image: a static busybox (the round script's shell and tools),
the static test binaries and the environment probe, made into a tarball and
imported with `podman import` (no registry, no base image). It is tagged by a
hash of its contents, so an unchanged build reuses the image and a new build
makes a new tag; images of other builds are removed."""
from __future__ import annotations

import hashlib
import io
import os
import pathlib
import subprocess
import tarfile
import threading

from harness.oci.podman import IMAGE_REPO, Podman

GUEST_BIN = "/shmconform/bin"
BUSYBOX = pathlib.Path("/bin/busybox")
_lock = threading.Lock()


class ImageError(Exception):
    """The image cannot be made; the message is one line for the user."""


def image_files(bins: pathlib.Path, probe: pathlib.Path, agent: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """(name in GUEST_BIN, host file) of every static binary the image carries."""
    files = []
    for sub in ("conformance", "stress", "bench"):
        for p in sorted((bins / sub).glob(f"{sub}-*")):
            if p.is_file() and os.access(p, os.X_OK):
                files.append((p.name, p))
    files += [("shmconform-probe", probe), (agent.name, agent)]
    return files


def _static_busybox() -> pathlib.Path:
    try:
        with open(BUSYBOX, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        raise ImageError(f"{BUSYBOX} is missing: the image needs a static busybox (apt-get install busybox-static)") from None
    if b"/lib64/ld-linux" in head or b"/lib/ld-linux" in head:
        raise ImageError(f"{BUSYBOX} is dynamically linked: the image needs busybox-static (apt-get install busybox-static)")
    return BUSYBOX


def content_hash(files: list[tuple[str, pathlib.Path]], busybox: pathlib.Path) -> str:
    h = hashlib.sha256()
    for name, path in [("busybox", busybox), *files]:
        h.update(name.encode() + b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def _file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def write_rootfs(out: pathlib.Path, files: list[tuple[str, pathlib.Path]], busybox: pathlib.Path) -> None:
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=False).stdout.split()
    with tarfile.open(out, "w") as tar:
        for d in ("bin", "etc", "shmconform", GUEST_BIN.lstrip("/"), "round", "proc", "sys", "dev", "run"):
            _dir(tar, d)
        _dir(tar, "tmp", 0o1777)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox" and "/" not in applet:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        # Tests that act as another user use uid/gid 65534 by number; names help ls and id only.
        _file(tar, "etc/passwd", b"root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        _file(tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        for name, path in files:
            tar.add(str(path), arcname=f"{GUEST_BIN.lstrip('/')}/{name}")


def ensure(podman: Podman, bins: pathlib.Path, probe: pathlib.Path, agent: pathlib.Path, work: pathlib.Path) -> str:
    """The image reference for this build: imported once, reused while the build is
    unchanged; images of other builds are removed."""
    files = image_files(bins, probe, agent)
    if len(files) == 2:
        raise ImageError(f"no static test binaries in {bins}: build the static preset first")
    busybox = _static_busybox()
    ref = f"{IMAGE_REPO}:{content_hash(files, busybox)}"
    with _lock:  # targets prepare concurrently; one import per build
        if not podman.image_exists(ref):
            work.mkdir(parents=True, exist_ok=True)
            tarball = work / "rootfs.tar"
            write_rootfs(tarball, files, busybox)
            try:
                podman.import_image(tarball, ref)
            finally:
                tarball.unlink(missing_ok=True)
        podman.remove_other_images(keep=ref)
    return ref
