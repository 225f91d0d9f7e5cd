"""podman as the harness uses it: its configuration and storage live in a
folder of our cache (nothing under /var/lib/containers or ~/.local), every
container is labelled with the run id so teardown can remove what a kill left,
and the settings this machine or a CI runner needs are chosen from what is
detected, never from the host's name:

  - no systemd: cgroupfs cgroup manager, file events log, k8s-file container logs
    (cgroupfs works under systemd too, so one configuration serves both);
  - rlimits: podman's default nofile/nproc (1048576) exceed the hard limits of a
    root without CAP_SYS_RESOURCE, so the container gets the harness's own limits;
  - hybrid cgroups (v1 controllers plus /sys/fs/cgroup/unified): crun refuses them,
    so crun runs in a private mount namespace where the cgroup2 mount is gone
    (the host's mounts stay untouched).
"""
from __future__ import annotations

import os
import pathlib
import resource
import shutil
import signal
import subprocess
import time

from harness.oci.options import OciOptions

IMAGE_REPO = "localhost/shmconform"
LABEL = "org.shmconform.owner"     # value: RUNID.TARGET, so one target's cleanup spares the others
PID_LABEL = "org.shmconform.pid"   # the harness process that started the container
BLOB_INFO_CACHE = pathlib.Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")


class PodmanError(Exception):
    """podman cannot be used; the message is one line for the user."""


def _last_line(text: str, default: str = "?") -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip() and "level=warning" not in ln]
    return lines[-1] if lines else default


def hybrid_cgroups(mountinfo: str | None = None) -> bool:
    """True when /sys/fs/cgroup holds v1 controllers and a cgroup2 tree at
    /sys/fs/cgroup/unified (systemd's "hybrid" layout), which crun refuses."""
    if mountinfo is None:
        try:
            mountinfo = pathlib.Path("/proc/self/mountinfo").read_text()
        except OSError:
            return False
    fstype = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        fstype[fields[4]] = line.split(" - ", 1)[1].split()[0]
    return fstype.get("/sys/fs/cgroup") != "cgroup2" and fstype.get("/sys/fs/cgroup/unified") == "cgroup2"


def _limit(value: int) -> str:
    return "-1" if value == resource.RLIM_INFINITY else str(value)


# podman itself runs with nproc at most this (seen: podman 4.3 as a root without
# CAP_SYS_RESOURCE), and the runtime it starts cannot go above what it inherits.
PODMAN_NPROC_CEILING = 32768


def ulimit_args() -> list[str]:
    """nofile and nproc for the container: the harness's own, capped where podman caps
    itself (any --ulimit replaces podman's configured defaults, so both are given)."""
    args = []
    for name, res, ceiling in (("nofile", resource.RLIMIT_NOFILE, None),
                               ("nproc", resource.RLIMIT_NPROC, PODMAN_NPROC_CEILING)):
        soft, hard = resource.getrlimit(res)
        if ceiling is not None:
            hard = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
            soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
        args += ["--ulimit", f"{name}={_limit(soft)}:{_limit(hard)}"]
    return args


class Podman:
    """podman with configuration and storage under HOME (a folder of our cache)."""

    def __init__(self, home: pathlib.Path, executable: str = "podman"):
        self.home = home
        self.executable = executable
        self.storage = home / "storage"
        self.runroot = home / "run"
        self._conf = home / "containers.conf"
        self._storage_conf = home / "storage.conf"

    def configure(self) -> None:
        """Write the configuration files (idempotent)."""
        for d in (self.storage, self.runroot, self.runroot / "tmp", self.home / "networks"):
            d.mkdir(parents=True, exist_ok=True)
        conf = "\n".join([
            "[engine]",
            'cgroup_manager = "cgroupfs"',
            'events_logger = "file"',
            'lock_type = "file"',  # locks under tmp_dir: no libpod_lock left in the host's /dev/shm
            f'events_logfile_path = "{self.runroot}/events.log"',
            f'tmp_dir = "{self.runroot / "tmp"}"',
            f'static_dir = "{self.storage / "libpod"}"',
            f'volume_path = "{self.storage / "volumes"}"',
            "[containers]",
            'log_driver = "k8s-file"',
            "[network]",
            'network_backend = "netavark"',
            f'network_config_dir = "{self.home / "networks"}"',
            "",
        ])
        # vfs: a container's root is a plain copy, so no overlay mount is ever left on the host.
        storage = "\n".join(["[storage]", 'driver = "vfs"', f'graphroot = "{self.storage}"',
                             f'runroot = "{self.runroot}"', ""])
        for path, text in ((self._conf, conf), (self._storage_conf, storage)):
            if not path.exists() or path.read_text() != text:
                path.write_text(text)

    def env(self) -> dict:
        return {**os.environ, "CONTAINERS_CONF": str(self._conf), "CONTAINERS_STORAGE_CONF": str(self._storage_conf)}

    def command(self, *args: str) -> list[str]:
        return [self.executable, *args]

    def call(self, *args: str, timeout: float = 120, input: bytes | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(self.command(*args), env=self.env(), capture_output=True, timeout=timeout,
                                  input=input, stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PodmanError(f"podman {args[0]} did not finish within {timeout:.0f} s") from None
        except OSError as e:
            raise PodmanError(f"cannot start podman: {e.strerror}") from None

    def check(self, *args: str, timeout: float = 120, input: bytes | None = None) -> str:
        r = self.call(*args, timeout=timeout, input=input)
        if r.returncode != 0:
            raise PodmanError(f"podman {args[0]} failed: {_last_line(r.stderr.decode(errors='replace'))}")
        return r.stdout.decode(errors="replace")

    def version(self) -> str:
        return self.check("version", "--format", "{{.Client.Version}}").strip()

    # -- images ------------------------------------------------------------
    def image_exists(self, ref: str) -> bool:
        return self.call("image", "exists", ref).returncode == 0

    def import_image(self, tarball: pathlib.Path, ref: str) -> None:
        # podman import records layer digests in a blob-info cache under /var/lib/containers,
        # whatever the storage configuration says: removed again when the import made it.
        had_cache = BLOB_INFO_CACHE.exists()
        try:
            self.check("import", "--quiet", str(tarball), ref, timeout=600)
        finally:
            if not had_cache:
                BLOB_INFO_CACHE.unlink(missing_ok=True)

    def remove_other_images(self, keep: str) -> list[str]:
        """Remove images of other builds (our repository, another tag); those in use stay."""
        out = self.check("images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPO)
        removed = []
        for ref in sorted({ln.strip() for ln in out.splitlines() if ln.strip()}):
            if ref != keep and self.call("rmi", ref).returncode == 0:
                removed.append(ref)
        return removed

    # -- containers --------------------------------------------------------
    def remove_orphans(self) -> list[str]:
        """Force-remove our containers whose harness process is gone (it was SIGKILLed:
        conmon outlives it, so the container would run on)."""
        out = self.call("ps", "-a", "--filter", f"label={PID_LABEL}",
                        "--format", f'{{{{.ID}}}} {{{{index .Labels "{PID_LABEL}"}}}}').stdout.decode()
        orphans = []
        for line in out.splitlines():
            cid, _, pid = line.partition(" ")
            if pid.strip().isdigit() and not os.path.exists(f"/proc/{pid.strip()}"):
                orphans.append(cid)
        if orphans:
            self.call("rm", "-f", "-t", "0", *orphans, timeout=60)
        return orphans

    def remove_containers(self, owner: str) -> None:
        """Force-remove every container labelled with owner (a killed round leaves its container running)."""
        out = self.call("ps", "-a", "-q", "--filter", f"label={LABEL}={owner}").stdout.decode().split()
        if out:
            self.call("rm", "-f", "-t", "0", *out, timeout=60)


# Where podman 4 and the runtimes keep state outside our configuration (no option moves
# them): the runtimes' state roots and netavark's run directory. Empty after a container
# is removed; teardown removes the ones that were not there before.
STATE_DIRS = [pathlib.Path(p) for p in ("/run/runc", "/run/crun", "/run/runsc", "/run/containers/networks",
                                         "/run/containers", "/run/libpod", "/var/lib/containers/cache",
                                         "/var/lib/containers")]


def existing_state_dirs() -> set[pathlib.Path]:
    return {d for d in STATE_DIRS if d.exists()}


def command_lines():
    """The argument vectors of this machine's processes (those still there when read)."""
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            yield (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue


def wait_for_cleanups(storage: pathlib.Path, timeout: float = 10.0) -> None:
    """Wait for the `podman container cleanup` that conmon starts when a container of this
    storage exits: it runs after `podman run --rm` returned, and recreates /run state."""
    needle, deadline = str(storage).encode(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(needle in argv and b"cleanup" in argv for argv in command_lines()):
            return
        time.sleep(0.1)


def remove_new_empty_state_dirs(before: set[pathlib.Path]) -> None:
    """rmdir the state directories that appeared since `before` and are empty (a
    directory another container still uses is never empty, and rmdir leaves it)."""
    for d in STATE_DIRS:   # children before their parents
        if d not in before:
            try:
                d.rmdir()
            except OSError:
                pass


def container_id_of(name: str) -> str:
    """The id of container `name` from its conmon's command line (-n NAME -c ID), for a
    container podman already forgot; "" when no conmon names it."""
    for argv in command_lines():
        if argv and argv[0].endswith(b"conmon") and name.encode() in argv and b"-c" in argv:
            i = argv.index(b"-c")
            return argv[i + 1].decode() if i + 1 < len(argv) else ""
    return ""


def reap_container(cid: str) -> list[int]:
    """After `podman rm -f` of a container that never started: kill what its start left
    running (conmon, the runtime, gVisor's sandbox and gofer all name the 64-hex id on
    their command line) and remove the runtime's state files named by it."""
    if len(cid) != 64 or not all(c in "0123456789abcdef" for c in cid):
        return []
    killed = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if cid.encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
        except (OSError, ValueError):
            pass
    for d in STATE_DIRS[:3]:
        for entry in (d.glob(f"{cid}*") if d.is_dir() else []):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    return killed


def runtime_command(opts: OciOptions, home: pathlib.Path) -> tuple[str, list[str], list[str]]:
    """(runtime path for --runtime, --runtime-flag values, notes for the report).
    PodmanError when the runtime is not installed."""
    path = opts.runtime if opts.runtime.startswith("/") else shutil.which(opts.runtime)
    if not path or not os.access(path, os.X_OK):
        raise PodmanError(f"{opts.runtime}: the OCI runtime is not installed"
                          + ("" if opts.runtime.startswith("/") else f" (apt-get install {opts.runtime})"))
    flags, notes = [], []
    if opts.is_gvisor:
        # Without network=none runsc checks for the root network namespace and misfires
        # under podman; the container gets no network anyway.
        flags = [f"platform={opts.platform}", "network=none"]
    if opts.runtime_name == "crun" and hybrid_cgroups():
        wrapper = home / "crun-hybrid-cgroups"
        text = ("#!/bin/sh\n# crun refuses hybrid cgroups: run it where the cgroup2 mount is gone\n"
                "# (a private mount namespace; the host's mounts are untouched).\n"
                "exec unshare -m --propagation private sh -c "
                f"'umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"' {path} \"$@\"\n")
        if not wrapper.exists() or wrapper.read_text() != text:
            tmp = wrapper.with_name(f"{wrapper.name}.{os.getpid()}")
            tmp.write_text(text)
            tmp.chmod(0o755)
            tmp.replace(wrapper)
        path = str(wrapper)
        notes.append("hybrid cgroups: crun runs with /sys/fs/cgroup/unified unmounted in a private mount namespace")
    return path, flags, notes


def runtime_version(opts: OciOptions, path: str) -> str:
    exe = opts.runtime if opts.runtime.startswith("/") else (shutil.which(opts.runtime) or path)
    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = next((ln.strip() for ln in r.stdout.splitlines() if ln.strip()), "unknown")
    return first


def run_args(opts: OciOptions, *, runtime: str, runtime_flags: list[str], name: str, owner: str,
             mounts: list[tuple[pathlib.Path, str]], image: str, command: list[str]) -> list[str]:
    """podman run arguments for one round in a fresh container."""
    args = ["run", "--rm", "--name", name, "--label", f"{LABEL}={owner}", "--label", f"{PID_LABEL}={os.getpid()}", "--network=none",
            f"--runtime={runtime}", *[f"--runtime-flag={f}" for f in runtime_flags],
            f"--ipc={opts.ipc}", *ulimit_args()]
    args += [f"--cap-add={c}" for c in opts.cap_add]
    args += [f"--cap-drop={c}" for c in opts.cap_drop]
    if opts.shm_size and opts.ipc != "host":
        args.append(f"--shm-size={opts.shm_size}")
    if opts.sysctl_rw:
        args += ["--security-opt", "unmask=/proc/sys"]
    for host, guest in mounts:
        args += ["-v", f"{host.resolve()}:{guest}"]
    return [*args, image, *command]
