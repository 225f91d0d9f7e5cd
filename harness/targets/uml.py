"""uml[:KERNEL]: a user-mode-linux kernel boots with the host's root as hostfs
and runs the round script as init."""
from __future__ import annotations

import os
import pathlib
import shlex
import subprocess

from harness import script
from harness.targets.base import KernelTarget, RoundOutcome, TargetError
from harness.targets.probe import probe_binary
from harness.targets.processes import supervise
from harness.targets.spec import family


@family("uml", "uml[:KERNEL]",
         "user-mode-linux, /usr/bin/linux.uml or KERNEL, host root via hostfs",
         takes_arg=True, order=50)
class UmlTarget(KernelTarget):
    kind = "uml"
    virtualization = "user-mode-linux"

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
