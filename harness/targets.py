"""Targets: where the suite runs. Each is a small class behind one interface:

  prepare(ctx)            check the input, build/fetch what it needs (TargetError: one line)
  binaries_dir(ctx)       the host build directory whose binaries it runs
  run_round(invs, dir)    run one round script (see script.py); results land in dir/results
  teardown()              remove what prepare/run left (remote directories)
  kill()                  stop everything now (Ctrl-C, SIGTERM)

Spec strings (--target): local, ns, bwrap, wrap:"PREFIX", uml[:KERNEL],
qemu:KERNEL-OR-DEBIAN-PACKAGE, qemu-user:ARCH, ssh:USER@HOST[:PORT].
"""
from __future__ import annotations

import base64
import dataclasses
import io
import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import threading
import time

from harness import builds, kernels, machines, script
from harness.script import Invocation

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROBE_SOURCE = pathlib.Path(__file__).resolve().parent / "probe" / "probe.c"

ARCHES = {  # qemu-user architecture -> (cmake preset, qemu binary, C compiler)
    "aarch64": ("aarch64", "qemu-aarch64", "aarch64-linux-gnu-gcc"),
    "armhf": ("armhf", "qemu-arm", "arm-linux-gnueabihf-gcc"),
    "riscv64": ("riscv64", "qemu-riscv64", "riscv64-linux-gnu-gcc"),
}
PANIC_RE = re.compile(r"Kernel panic|Oops|BUG:|WARNING:|general protection fault|Call Trace|"
                      r"Unable to handle kernel|kernel BUG at")


class TargetError(Exception):
    """A target cannot be used; the message is one line for the user."""


@dataclasses.dataclass
class Context:
    build_dir: pathlib.Path          # the main (host, dynamic) build
    cache_dir: pathlib.Path          # downloads, kernels, initramfs, probe binaries
    work_dir: pathlib.Path           # this run's scratch: rounds of every target
    run_id: str
    allow_build: bool = True
    ssh_options: list[str] = dataclasses.field(default_factory=list)
    accel: str = "auto"              # qemu: auto (probe kvm, else tcg), kvm, tcg
    preset_dirs: dict[str, pathlib.Path] = dataclasses.field(default_factory=dict)  # preset -> prebuilt dir
    kernel_args: str = ""            # extra kernel command line for uml and qemu
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)


@dataclasses.dataclass
class RoundOutcome:
    results: pathlib.Path            # directory of the round script's files
    console: str = ""                # VM console (UML stdout, QEMU ttyS0)
    timed_out: bool = False          # the whole round hit the per-target timeout
    returncode: int | None = None


# Every child process group the harness started, so a signal can end them all.
_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def kill_all() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        _kill_group(p, signal.SIGTERM)
    deadline = time.monotonic() + 3
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(p, signal.SIGKILL)


def _kill_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def supervise(cmd: list[str], *, timeout: float, stop: threading.Event, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=None, env=None,
              early_abort=None) -> tuple[int | None, bool]:
    """Run cmd in its own process group; (returncode, timed_out). On timeout, stop
    or early_abort() returning True, the group gets SIGTERM then SIGKILL."""
    try:
        p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, stdin=stdin, cwd=cwd, env=env,
                             start_new_session=True)
    except OSError as e:
        raise TargetError(f"cannot start {cmd[0]}: {e.strerror}") from None
    with _live_lock:
        _live.add(p)
    timed_out = False
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                p.wait(0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if stop.is_set() or time.monotonic() > deadline or (early_abort and early_abort()):
                timed_out = not stop.is_set()
                _kill_group(p, signal.SIGTERM)
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    _kill_group(p, signal.SIGKILL)
                    p.wait()
                break
    finally:
        _kill_group(p, signal.SIGKILL)   # stragglers left in the group
        with _live_lock:
            _live.discard(p)
    return p.returncode, timed_out


def sweep_recorded_groups(results: pathlib.Path) -> None:
    """Kill process groups of invocations the round script recorded (ID.pid) that
    outlived it (the script was SIGKILLed); only groups led by that pid."""
    for pidfile in results.glob("*.pid"):
        try:
            pid = int(pidfile.read_text().strip())
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
        except (ValueError, OSError):
            pass


def probe_binary(ctx: Context, arch: str = "x86_64") -> pathlib.Path:
    """The static probe (probe/probe.c) for arch, compiled into the cache once."""
    with _probe_lock:
        return _probe_binary(ctx, arch)


_probe_lock = threading.Lock()


def _probe_binary(ctx: Context, arch: str) -> pathlib.Path:
    cc = "gcc" if arch == "x86_64" else ARCHES[arch][2]
    out = ctx.cache_dir / "probe" / f"shmconform-probe-{arch}"
    if out.exists() and out.stat().st_mtime >= PROBE_SOURCE.stat().st_mtime:
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


class Target:
    kind = "host"
    virtualization = "none"
    arch = "x86_64"
    preset: str | None = None        # build preset whose binaries it runs (None: the main build)
    stop_on_taint = False            # a VM stops and reboots when its kernel taints
    default_timeout = 1800

    def __init__(self, spec: str):
        self.name = spec
        self.spec = spec

    def prepare(self, ctx: Context) -> None:
        self.ctx = ctx

    def binaries_dir(self, ctx: Context) -> pathlib.Path:
        if self.preset is None:
            return ctx.build_dir
        if self.preset in ctx.preset_dirs:
            return ctx.preset_dirs[self.preset]
        return builds.ensure(self.preset, allow_build=ctx.allow_build, error=TargetError)

    def run_round(self, invocations: list[Invocation], round_dir: pathlib.Path, timeout: float) -> RoundOutcome:
        raise NotImplementedError

    def teardown(self) -> None:
        pass

    def describe(self) -> dict:
        return {"virtualization": self.virtualization}


class HostTarget(Target):
    """Runs the round script on this machine, maybe under a launcher."""

    launcher: list[str] = []
    prefix = ""
    prologue = ""

    def run_round(self, invocations, round_dir, timeout):
        results = round_dir / "results"
        results.mkdir(parents=True, exist_ok=True)
        text = script.render(invocations, results=str(results), probe=str(self.probe), run_id=self.ctx.run_id,
                             scratch=str(round_dir / "scratch"), prefix=self.prefix, prologue=self.prologue)
        path = round_dir / "round.sh"
        path.write_text(text)
        with open(round_dir / "launcher.log", "wb") as log:
            rc, timed_out = supervise([*self.launcher_for(round_dir), "/bin/sh", str(path)], timeout=timeout,
                                      stop=self.ctx.stop, stdout=log, stderr=subprocess.STDOUT)
        sweep_recorded_groups(results)
        launcher_log = (round_dir / "launcher.log").read_text(errors="replace")
        return RoundOutcome(results, launcher_log, timed_out, rc)

    def launcher_for(self, round_dir: pathlib.Path) -> list[str]:
        return list(self.launcher)

    def prepare(self, ctx):
        super().prepare(ctx)
        self.probe = probe_binary(ctx, self.arch)


class LocalTarget(HostTarget):
    kind = "host"


class NamespaceTarget(HostTarget):
    kind = "namespace"
    virtualization = "namespace (ipc, pid, mount)"
    prologue = "mount -t tmpfs shmconform-shm /dev/shm 2>/dev/null"

    def prepare(self, ctx):
        super().prepare(ctx)
        if not shutil.which("unshare"):
            raise TargetError("ns: unshare (util-linux) is not installed")
        self.launcher = ["unshare", "--ipc", "--pid", "--fork", "--mount-proc", "--mount", "--kill-child"]
        if os.geteuid() != 0:
            self.launcher[1:1] = ["--user", "--map-root-user"]
            self.virtualization = "namespace (user, ipc, pid, mount)"
        r = subprocess.run([*self.launcher, "true"], capture_output=True, text=True)
        if r.returncode != 0:
            raise TargetError(f"ns: cannot create namespaces here: {(r.stderr.strip().splitlines() or ['?'])[-1]}")


class BwrapTarget(HostTarget):
    kind = "namespace"
    virtualization = "container (bubblewrap: ipc, pid)"

    def prepare(self, ctx):
        super().prepare(ctx)
        if not shutil.which("bwrap"):
            raise TargetError("bwrap: bubblewrap is not installed (apt-get install bubblewrap)")

    def launcher_for(self, round_dir):
        cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/",
               "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        # The binaries and the probe may live under /tmp, which is private in here.
        for d in (self.ctx.build_dir, self.probe.parent, round_dir):
            cmd += ["--bind" if d == round_dir else "--ro-bind", str(d), str(d)]
        return cmd


class WrapTarget(HostTarget):
    """Every binary runs as PREFIX BINARY ARGS (split on white space)."""
    kind = "wrap"

    def __init__(self, spec, prefix):
        super().__init__(spec)
        if not prefix.strip():
            raise TargetError("wrap: needs a command prefix, e.g. wrap:\"firejail --quiet\"")
        self.prefix = prefix.strip()
        self.virtualization = f"wrapper: {self.prefix}"

    def prepare(self, ctx):
        super().prepare(ctx)
        first = self.prefix.split()[0]
        if not shutil.which(first):
            raise TargetError(f"wrap: '{first}' is not an executable on PATH")


class QemuUserTarget(HostTarget):
    kind = "qemu-user"

    def __init__(self, spec, arch):
        super().__init__(spec)
        if arch not in ARCHES:
            raise TargetError(f"qemu-user: unknown architecture '{arch}' (choose from {', '.join(ARCHES)})")
        self.arch = arch
        self.preset, self.prefix, _ = ARCHES[arch]
        self.virtualization = f"qemu-user ({arch} on {os.uname().machine})"

    def prepare(self, ctx):
        if not shutil.which(self.prefix):
            raise TargetError(f"qemu-user: {self.prefix} is not installed (apt-get install qemu-user)")
        super().prepare(ctx)


class UmlTarget(Target):
    kind = "uml"
    virtualization = "user-mode-linux"
    stop_on_taint = True

    def __init__(self, spec, kernel):
        super().__init__(spec)
        self.kernel = pathlib.Path(kernel or "/usr/bin/linux.uml")

    def prepare(self, ctx):
        super().prepare(ctx)
        k = self.kernel
        if not k.is_file():
            hint = " (apt-get install user-mode-linux)" if str(k) == "/usr/bin/linux.uml" else ""
            raise TargetError(f"uml: no such kernel file: {k}{hint}")
        with open(k, "rb") as f:
            head = f.read(4)
            body = head + f.read(64 << 20)
        if head != b"\x7fELF" or b"make_uml_dir" not in body or not os.access(k, os.X_OK):
            raise TargetError(f"uml: {k} is not a user-mode-linux kernel binary")
        self.probe = probe_binary(ctx)

    def run_round(self, invocations, round_dir, timeout):
        results = round_dir / "results"
        results.mkdir(parents=True, exist_ok=True)
        scratch = round_dir / "scratch"
        scratch.mkdir(exist_ok=True)
        prologue = "\n".join([
            "export PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "mount -t proc proc /proc; mount -t sysfs sys /sys 2>/dev/null",
            "mount -t devtmpfs dev /dev 2>/dev/null",
            "mkdir -p /dev/shm; mount -t tmpfs shm /dev/shm",
            f"mount -t tmpfs scratch {shlex.quote(str(scratch))}",
            "halt_target() { sync; halt -f 2>/dev/null || poweroff -f; echo o > /proc/sysrq-trigger; }",
        ])
        text = script.render(invocations, results=str(results), probe=str(self.probe), run_id=self.ctx.run_id,
                             scratch=str(scratch), prologue=prologue, stop_on_taint=True)
        path = round_dir / "init.sh"
        path.write_text(text)
        path.chmod(0o755)
        console = round_dir / "console.log"
        with open(console, "wb") as out:
            rc, timed_out = supervise(
                [str(self.kernel), "mem=512M", "rootfstype=hostfs", "rw", f"init={path}", "con=null",
                 "con0=fd:0,fd:1", f"uml_dir={round_dir}", "quiet",
                 # Legacy BSD ptys cost UML seconds of boot (8 s under load) and nobody uses them.
                 "pty.legacy_count=0", *self.ctx.kernel_args.split()],
                timeout=timeout, stop=self.ctx.stop, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "TMPDIR": "/dev/shm" if os.access("/dev/shm", os.W_OK) else str(round_dir)})
        return RoundOutcome(results, console.read_text(errors="replace"), timed_out, rc)


class QemuTarget(Target):
    kind = "qemu"
    preset = "static"
    stop_on_taint = True
    _accel_lock = threading.Lock()
    _accel_cache: dict[str, str] = {}

    def __init__(self, spec, kernel):
        super().__init__(spec)
        if not kernel:
            raise TargetError("qemu: name a kernel: qemu:/boot/vmlinuz-... or qemu:DEBIAN-PACKAGE")
        self.kernel_arg = kernel

    def prepare(self, ctx):
        super().prepare(ctx)
        self.kernel = kernels.resolve(self.kernel_arg, ctx.cache_dir, error=TargetError)
        image = kernels.identify(self.kernel)
        self.machine = machines.for_arch(image.arch) if image else None
        if self.machine is None:
            raise TargetError(f"qemu: no machine for the kernel {self.kernel} ({image.arch if image else 'unknown'})")
        m = self.machine
        if not shutil.which(m.qemu):
            raise TargetError(f"qemu: {m.qemu} is not installed (apt-get install {m.qemu_package})")
        self.arch, self.preset = m.arch, m.preset
        self.probe = probe_binary(ctx, m.arch)
        busybox = kernels.busybox_for(m.debian_arch, ctx.cache_dir, error=TargetError)
        self.base_initrd = kernels.base_initramfs(self.binaries_dir(ctx), self.probe, ctx.cache_dir, error=TargetError,
                                                  busybox=busybox, modules=kernels.console_modules(self.kernel))
        self.accel = self._choose_accel(ctx) if machines.native(m.arch) else "tcg"
        self.virtualization = f"{m.qemu} ({self.accel})"

    def _choose_accel(self, ctx) -> str:
        if ctx.accel in ("kvm", "tcg"):
            return ctx.accel
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return "tcg"
        with self._accel_lock:
            key = self.machine.qemu   # KVM works for every kernel of this host or for none: one probe boot
            if key not in self._accel_cache:
                d = ctx.work_dir / "kvm-probe"
                d.mkdir(parents=True, exist_ok=True)
                out = self._boot([], d, timeout=20, accel="kvm")
                ok = (out.results / "round.done").exists()
                self._accel_cache[key] = "kvm" if ok else "tcg"
            return self._accel_cache[key]

    def run_round(self, invocations, round_dir, timeout):
        return self._boot(invocations, round_dir, timeout, self.accel)

    def _boot(self, invocations, round_dir, timeout, accel) -> RoundOutcome:
        round_dir.mkdir(parents=True, exist_ok=True)
        results_dev, live_dev = self.machine.guest_ports
        prologue = "\n".join([
            f"stty -F {results_dev} raw -echo 2>/dev/null; stty -F {live_dev} raw -echo 2>/dev/null",
            f"LIVE={live_dev}",
            "emit() { [ -f \"$R/$1\" ] || return 0; { echo \"@@SHMCONFORM-FILE $1\"; base64 \"$R/$1\";"
            f" echo \"@@SHMCONFORM-END $1\"; }} > {results_dev}; }}",
            "halt_target() { sync; poweroff -f; }",
        ])
        inv = [dataclasses.replace(i, argv=[kernels.GUEST_BIN + "/" + pathlib.Path(i.argv[0]).name, *i.argv[1:]])
               for i in invocations]
        text = script.render(inv, results="/results", probe=kernels.GUEST_PROBE, run_id=self.ctx.run_id,
                             scratch="/tmp/scratch", prologue=prologue, stop_on_taint=True)
        initrd = round_dir / "initrd.img"
        kernels.round_initramfs(self.base_initrd, text, initrd)
        console, serial, live = round_dir / "console.log", round_dir / "results.serial", round_dir / "live.serial"
        console.write_bytes(b"")
        cmd = machines.command(self.machine, kernel=self.kernel, initrd=initrd, accel=accel,
                               append=machines.kernel_command_line(self.machine, self.ctx.kernel_args),
                               console_log=console, results_log=serial, live_log=live)

        def kvm_broken() -> bool:
            try:
                return accel == "kvm" and b"KVM internal error" in (round_dir / "qemu.log").read_bytes()
            except OSError:
                return False
        with open(round_dir / "qemu.log", "wb") as log:
            rc, timed_out = supervise(cmd, timeout=timeout, stop=self.ctx.stop, stdout=log, stderr=subprocess.STDOUT,
                                      early_abort=kvm_broken)
        results = round_dir / "results"
        results.mkdir(exist_ok=True)
        _unframe(serial.read_bytes() if serial.exists() else b"", results)
        _unlive(live.read_bytes() if live.exists() else b"", results)
        text = console.read_text(errors="replace") + (round_dir / "qemu.log").read_text(errors="replace")
        return RoundOutcome(results, text, timed_out, rc)


def _unframe(data: bytes, out: pathlib.Path) -> None:
    """Files the guest sent over the results serial port (base64 between markers)."""
    name, chunks = None, []
    for raw in data.replace(b"\r", b"").split(b"\n"):
        line = raw.decode("ascii", errors="replace")
        if line.startswith("@@SHMCONFORM-FILE "):
            name, chunks = line.split(" ", 1)[1].strip(), []
        elif line.startswith("@@SHMCONFORM-END ") and name:
            if "/" not in name and not name.startswith("."):
                try:
                    (out / name).write_bytes(base64.b64decode("".join(chunks)))
                except ValueError:
                    pass
            name = None
        elif name is not None:
            chunks.append(line.strip())


def _unlive(data: bytes, out: pathlib.Path) -> None:
    """The live copy of each invocation's output: the only record of one a panic cut short."""
    for section in data.replace(b"\r", b"").split(b"@@SHMCONFORM-LIVE ")[1:]:
        head, _, body = section.partition(b"\n")
        name = head.decode("ascii", errors="replace").strip()
        if name and "/" not in name and not name.startswith(".") and not (out / f"{name}.rc").exists():
            (out / f"{name}.out").write_bytes(body)


class SshTarget(Target):
    kind = "ssh"
    preset = "static"
    virtualization = "remote host"

    def __init__(self, spec, dest):
        super().__init__(spec)
        m = re.fullmatch(r"([A-Za-z0-9._-]+@)?([A-Za-z0-9.:_-]+?|\[[0-9a-fA-F:]+\])(?::(\d+))?", dest or "")
        if not m:
            raise TargetError(f"ssh: cannot read '{dest}' as USER@HOST[:PORT]")
        self.user_host = (m.group(1) or "") + m.group(2).strip("[]")
        self.port = m.group(3) or "22"
        self.remote = None

    def _ssh(self, *args, tty=False) -> list[str]:
        base = ["ssh", "-p", self.port, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        if tty:
            base.append("-tt")
        for opt in self.ctx.ssh_options:
            base += ["-i", opt[2:]] if opt.startswith("i=") else ["-o", opt]
        return [*base, self.user_host, *args]

    def prepare(self, ctx):
        super().prepare(ctx)
        if not shutil.which("ssh"):
            raise TargetError("ssh: the OpenSSH client is not installed (apt-get install openssh-client)")
        r = subprocess.run(self._ssh("mktemp -d /tmp/shmconform.XXXXXX"), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
            raise TargetError(f"ssh: cannot reach {self.user_host} port {self.port}: {last}")
        self.remote = self.remote_used = r.stdout.strip()
        self.probe = probe_binary(ctx)
        # Copy the static binaries and the probe once, as a tar stream.
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            bins = self.binaries_dir(ctx)
            for sub in ("conformance", "stress", "bench"):
                for p in sorted((bins / sub).glob(f"{sub}-*")):
                    if p.is_file() and os.access(p, os.X_OK):
                        tar.add(p, arcname=f"bin/{p.name}")
            tar.add(self.probe, arcname="bin/shmconform-probe")
        r = subprocess.run(self._ssh(f"tar -C {shlex.quote(self.remote)} -xf -"), input=buf.getvalue(),
                           capture_output=True, timeout=600)
        if r.returncode != 0:
            raise TargetError(f"ssh: copying the binaries to {self.user_host} failed: "
                              f"{(r.stderr.decode(errors='replace').strip().splitlines() or ['?'])[-1]}")

    def run_round(self, invocations, round_dir, timeout):
        n = round_dir.name
        rdir = f"{self.remote}/{n}"
        inv = [dataclasses.replace(i, argv=[f"{self.remote}/bin/{pathlib.Path(i.argv[0]).name}", *i.argv[1:]])
               for i in invocations]
        text = script.render(inv, results=f"{rdir}/results", probe=f"{self.remote}/bin/shmconform-probe",
                             run_id=self.ctx.run_id, scratch=f"{rdir}/scratch")
        round_dir.mkdir(parents=True, exist_ok=True)
        (round_dir / "round.sh").write_text(text)
        up = subprocess.run(self._ssh(f"mkdir -p {rdir} && cat > {rdir}/round.sh"), input=text.encode(),
                            capture_output=True, timeout=60)
        if up.returncode != 0:
            raise TargetError(f"ssh: {self.user_host} stopped answering")
        with open(round_dir / "ssh.log", "wb") as log:
            rc, timed_out = supervise(self._ssh(f"sh {rdir}/round.sh", tty=True), timeout=timeout,
                                      stop=self.ctx.stop, stdout=log, stderr=subprocess.STDOUT)
        results = round_dir / "results"
        results.mkdir(exist_ok=True)
        r = subprocess.run(self._ssh(f"tar -C {rdir}/results -cf - ."), capture_output=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        if r.returncode == 0:
            with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tar:
                for m in tar.getmembers():
                    if m.isfile() and "/" not in m.name.removeprefix("./"):
                        (results / m.name.removeprefix("./")).write_bytes(tar.extractfile(m).read())
        return RoundOutcome(results, (round_dir / "ssh.log").read_text(errors="replace"), timed_out, rc)

    def teardown(self):
        if self.remote:
            subprocess.run(self._ssh(f"rm -rf {shlex.quote(self.remote)}"), capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=60)
            self.remote = None


def parse(spec: str) -> Target:
    """A Target for a --target spec; TargetError (one line) when it makes no sense."""
    kind, _, arg = spec.partition(":")
    if kind == "local" and not arg:
        return LocalTarget(spec)
    if kind == "ns" and not arg:
        return NamespaceTarget(spec)
    if kind == "bwrap" and not arg:
        return BwrapTarget(spec)
    if kind == "wrap":
        return WrapTarget(spec, arg.strip().strip("\"'"))
    if kind == "uml":
        return UmlTarget(spec, arg)
    if kind == "qemu":
        return QemuTarget(spec, arg)
    if kind == "qemu-user":
        return QemuUserTarget(spec, arg)
    if kind == "ssh":
        return SshTarget(spec, arg)
    raise TargetError(f"unknown target '{spec}' (use local, ns, bwrap, wrap:\"PREFIX\", uml[:KERNEL], "
                      f"qemu:KERNEL, qemu-user:ARCH, ssh:USER@HOST[:PORT])")
