"""ssh:USER@HOST[:PORT]: the static build is copied to a remote machine once
and each round script runs there; results come back as a tar stream."""
from __future__ import annotations

import dataclasses
import io
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import tarfile

from harness import script
from harness.targets.base import RoundOutcome, Target, TargetError
from harness.targets.probe import probe_binary
from harness.targets.processes import supervise
from harness.targets.spec import family


@family("ssh", "ssh:USER@HOST[:PORT]",
         "a remote Linux host (static binaries copied, run, fetched, removed)",
         takes_arg=True, order=80)
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
        self.remote = r.stdout.strip()
        self.probe = probe_binary(ctx)
        self._copy_binaries(ctx)

    def _copy_binaries(self, ctx) -> None:
        """The static binaries and the probe, once, as a tar stream."""
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
