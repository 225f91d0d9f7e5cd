"""Targets on this machine's kernel: local, ns (namespaces), bwrap and
wrap:"PREFIX". The round script runs on the host, maybe under a launcher."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

from harness import script
from harness.targets.base import RoundOutcome, Target, TargetError
from harness.targets.probe import probe_binary
from harness.targets.processes import supervise, sweep_recorded_groups
from harness.targets.spec import family


class HostTarget(Target):
    """Runs the round script on this machine, maybe under a launcher."""

    launcher: list[str] = []
    prefix = ""
    prologue = ""
    # The launcher gives the round script a PID namespace of its own: the pids it
    # records mean nothing here, and its end ends everything in it anyway.
    own_pid_namespace = False

    def run_round(self, invocations, round_dir, timeout):
        results = round_dir / "results"
        results.mkdir(parents=True, exist_ok=True)
        text = script.render(invocations, results=str(results), probe=str(self.probe), run_id=self.ctx.run_id,
                             scratch=str(round_dir / "scratch"), prefix=self.prefix, prologue=self.prologue)
        path = round_dir / "round.sh"
        path.write_text(text)
        with open(round_dir / "launcher.log", "wb") as log:
            rc, timed_out = supervise([*self.launcher_for(round_dir), "/bin/sh", str(path)], timeout=timeout,
                                      stop=self.ctx.stop, stdout=log, stderr=subprocess.STDOUT,
                                      pid_dir=None if self.own_pid_namespace else results)
        if not self.own_pid_namespace:
            sweep_recorded_groups(results)
        launcher_log = (round_dir / "launcher.log").read_text(errors="replace")
        return RoundOutcome(results, launcher_log, timed_out, rc)

    def launcher_for(self, round_dir: pathlib.Path) -> list[str]:
        return list(self.launcher)

    def prepare(self, ctx):
        super().prepare(ctx)
        self.probe = probe_binary(ctx, self.arch)


@family("local", "local",
         "this machine's kernel",
         takes_arg=False, order=10)
class LocalTarget(HostTarget):
    kind = "host"


@family("ns", "ns",
         "fresh IPC+PID+mount namespaces (unshare; +user when not root)",
         takes_arg=False, order=20)
class NamespaceTarget(HostTarget):
    kind = "namespace"
    virtualization = "namespace (ipc, pid, mount)"
    own_pid_namespace = True
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


@family("bwrap", "bwrap",
         "bubblewrap sandbox (ipc, pid)",
         takes_arg=False, order=30)
class BwrapTarget(HostTarget):
    kind = "namespace"
    virtualization = "container (bubblewrap: ipc, pid)"
    own_pid_namespace = True

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


@family("wrap", 'wrap:"PREFIX"',
         "every binary run as PREFIX BINARY (runsc do, firejail, docker exec NAME, ...)",
         takes_arg=True, order=40)
class WrapTarget(HostTarget):
    """Every binary runs as PREFIX BINARY ARGS (split on white space)."""
    kind = "wrap"

    def __init__(self, spec, prefix):
        super().__init__(spec)
        prefix = prefix.strip().strip("\"'")
        if not prefix.strip():
            raise TargetError("wrap: needs a command prefix, e.g. wrap:\"firejail --quiet\"")
        self.prefix = prefix.strip()
        self.virtualization = f"wrapper: {self.prefix}"

    def prepare(self, ctx):
        super().prepare(ctx)
        first = self.prefix.split()[0]
        if not shutil.which(first):
            raise TargetError(f"wrap: '{first}' is not an executable on PATH")
