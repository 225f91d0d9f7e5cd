"""Container semantics that need the host's side or two containers: a lab that
runs the agent (agent.c) in fresh containers of one runtime and on the host,
and returns what each saw. The checks themselves are the pytest tests of
harness/tests/test_oci_semantics.py, one per requirement of
harness/oci/requirements.toml, each with a control run that shows the check
can fail."""
from __future__ import annotations

import os
import pathlib
import subprocess
import time
import uuid

from harness.oci import agent, image, options, podman
from harness.oci.image import GUEST_BIN

AGENT = f"{GUEST_BIN}/{agent.NAME}"


class LabError(Exception):
    pass


def parse_line(text: str) -> dict:
    """'a=1 b=X' (the agent's last line) as a dict."""
    lines = [ln for ln in text.splitlines() if "=" in ln]
    return dict(part.split("=", 1) for part in lines[-1].split()) if lines else {}


class Lab:
    """Containers of one runtime, all labelled with one run id and removed by close()."""

    def __init__(self, cache_dir: pathlib.Path, bins: pathlib.Path, probe: pathlib.Path, runtime: str,
                 work_dir: pathlib.Path):
        self.run_id = f"lab-{uuid.uuid4().hex[:8]}"
        self.runtime_name = runtime
        self.state_dirs_before = podman.existing_state_dirs()
        self.podman = podman.Podman(cache_dir / "oci")
        self.podman.configure()
        self.agent_host = agent.agent_binary(cache_dir)
        self.image = image.ensure(self.podman, bins, probe, self.agent_host, work_dir)
        self.cache_dir = cache_dir
        self.unique = f"{os.getpid() & 0xffff:04x}{uuid.uuid4().hex[:4]}"

    def key(self, n: int) -> str:
        """A SysV key of this lab. Not the suite's marker byte 0x5c: a harness run on the
        host reaps unattached 0x5c segments whose creator is gone, as a container's are."""
        return hex(0x5D000000 | (int(self.unique, 16) & 0xFFF0) << 4 | n)

    def name(self, what: str) -> str:
        return f"/shmconform.{self.run_id}.{what}"

    def _args(self, spec_options: str, name: str, extra: list[str], command: list[str], detach=False):
        opts = options.parse(f"{self.runtime_name}{',' if spec_options else ''}{spec_options}")
        runtime, flags, _ = podman.runtime_command(opts, self.cache_dir / "oci")
        args = podman.run_args(opts, runtime=runtime, runtime_flags=flags, name=name, owner=self.run_id,
                               mounts=[], image=self.image, command=command)
        i = args.index(self.image)
        args[i:i] = extra
        if detach:
            args.insert(1, "-d")
        return args

    def run(self, spec_options: str, *agent_args: str, extra: list[str] | None = None) -> dict:
        """The agent's answer from a fresh container (removed after)."""
        name = f"shmconform-{self.run_id}-{uuid.uuid4().hex[:6]}"
        r = self.podman.call(*self._args(spec_options, name, extra or [], [AGENT, *agent_args]), timeout=120)
        out = r.stdout.decode(errors="replace")
        if r.returncode != 0 and not out.strip():
            raise LabError(f"container failed: {r.stderr.decode(errors='replace').strip()[-300:]}")
        return parse_line(out)

    def start(self, spec_options: str, shell: str, ready: str, extra: list[str] | None = None) -> str:
        """A detached container running `shell` (sh -c); returns its name once its
        output contains `ready`."""
        name = f"shmconform-{self.run_id}-{uuid.uuid4().hex[:6]}"
        self.podman.check(*self._args(spec_options, name, extra or [], ["/bin/sh", "-c", shell], detach=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = self.podman.call("logs", name).stdout.decode(errors="replace")
            if ready in logs:
                return name
            time.sleep(0.1)
        raise LabError(f"container {name} never printed {ready!r}")

    def logs(self, name: str) -> str:
        return self.podman.call("logs", name).stdout.decode(errors="replace")

    def host(self, *agent_args: str) -> dict:
        """The agent's answer on the host."""
        r = subprocess.run([str(self.agent_host), *agent_args], capture_output=True, text=True, timeout=60)
        return parse_line(r.stdout)

    def close(self) -> None:
        self.podman.remove_containers(self.run_id)
        podman.wait_for_cleanups(self.podman.storage)
        podman.remove_new_empty_state_dirs(self.state_dirs_before)
