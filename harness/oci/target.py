"""The oci: and gvisor targets: each round of the round script runs in a fresh
podman container of the chosen OCI runtime (runc, crun, gVisor's runsc or a
runtime path), with no network, from an image made of the static build.

The host's round directory is bind-mounted at /round: the script, its results
(results come back through it with every runtime, gVisor included) and the
tests' scratch directory, which so lies on a real file system. The container
profile (runtime and version, IPC mode, capabilities, /dev/shm size, platform)
goes into the target's environment, next to its verdict in the report.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import threading

from harness import script
from harness.oci import agent, diagnose, image, options, podman
from harness.oci.image import GUEST_BIN
from harness.targets.base import RoundOutcome, Target, TargetError
from harness.targets.probe import probe_binary
from harness.targets.processes import supervise

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
GUEST_ROUND = "/round"
# Capabilities that change what the suite sees, by bit number (linux/capability.h).
CAPS = {1: "CAP_DAC_OVERRIDE", 3: "CAP_FOWNER", 6: "CAP_SETGID", 7: "CAP_SETUID", 14: "CAP_IPC_LOCK",
        15: "CAP_IPC_OWNER", 19: "CAP_SYS_PTRACE", 21: "CAP_SYS_ADMIN", 24: "CAP_SYS_RESOURCE"}
# What the container looks like from inside, measured by the round script itself.
PROFILE_PROLOGUE = r'''{
  echo "container_cap_eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)"
  echo "dev_shm_kb=$(df -k /dev/shm 2>/dev/null | awk 'NR == 2 { print $2 }')"
  case "$(awk '$5 == "/proc/sys" { print $6 }' /proc/self/mountinfo)" in
    ro*) echo proc_sys_read_only=yes ;; *) echo proc_sys_read_only=no ;; esac
  if [ -r /proc/sysvipc/shm ]; then echo proc_sysvipc_shm=yes; else echo proc_sysvipc_shm=no; fi
} > "$R/container.txt" 2>/dev/null'''
_bootstrap_lock = threading.Lock()


def capability_names(cap_eff_hex: str) -> tuple[list[str], list[str]]:
    """(present, missing) among CAPS for a CapEff mask."""
    try:
        mask = int(cap_eff_hex, 16)
    except ValueError:
        return [], []
    present = [n for b, n in sorted(CAPS.items()) if mask >> b & 1]
    return present, [n for n in CAPS.values() if n not in present]


def container_profile(text: str) -> dict:
    """env entries from the round's container.txt."""
    raw = dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)
    out = {k: v for k, v in raw.items() if k in ("proc_sys_read_only", "proc_sysvipc_shm")}
    if raw.get("dev_shm_kb", "").isdigit():
        out["dev_shm_kb"] = int(raw["dev_shm_kb"])
    present, missing = capability_names(raw.get("container_cap_eff", ""))
    if present or missing:
        out["capabilities"] = ",".join(present) or "none of " + ",".join(CAPS.values())
        out["capabilities_missing"] = ",".join(missing) or "none"
    return out


def _bootstrap(what: str) -> None:
    """Install podman and the runtimes (ci/bootstrap.sh oci): only when asked for."""
    with _bootstrap_lock:
        try:
            r = subprocess.run([str(ROOT / "ci" / "bootstrap.sh"), "oci"], capture_output=True, text=True,
                               timeout=1800, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise TargetError(f"{what}: installing podman failed: {e}") from None
        if r.returncode != 0:
            last = next((ln for ln in reversed(r.stderr.splitlines()) if ln.strip()), f"exit {r.returncode}")
            raise TargetError(f"{what}: {last.removeprefix('shmconform: ')}")


class OciTarget(Target):
    kind = "oci"
    preset = "static"

    def __init__(self, spec: str, arg: str, family: str = "oci"):
        super().__init__(spec)
        try:
            self.opts = options.parse(arg, family=family)
        except options.OptionError as e:
            raise TargetError(str(e)) from None
        self.virtualization = f"OCI container ({self.opts.runtime_name})"
        self.profile: dict = {}
        self.podman: podman.Podman | None = None

    @property
    def owner(self) -> str:
        """The label value of this target's containers in this run."""
        return f"{self.ctx.run_id}.{_safe(self.name)}"

    def prepare(self, ctx):
        super().prepare(ctx)
        exe = os.environ.get("SHMCONFORM_PODMAN", "podman")
        known = self.opts.runtime in options.RUNTIMES
        if not shutil.which(exe) or (known and not shutil.which(self.opts.runtime)):
            _bootstrap(self.name)   # as root: installs; otherwise names the apt-get line
        if not shutil.which(exe):
            raise TargetError(f"{self.name}: podman is not installed or not on PATH ({exe}); "
                              f"as root run: apt-get install podman")
        self.state_dirs_before = podman.existing_state_dirs()
        self.podman = podman.Podman(ctx.cache_dir / "oci", executable=exe)
        try:
            self.podman.configure()
            self.podman.remove_orphans()
            self.runtime, self.runtime_flags, notes = podman.runtime_command(self.opts, ctx.cache_dir / "oci")
            podman_version = self.podman.version()
            self.probe = probe_binary(ctx)
            self.image = image.ensure(self.podman, self.binaries_dir(ctx), self.probe, agent.agent_binary(ctx.cache_dir),
                                      ctx.work_dir / "oci-image")
        except (podman.PodmanError, image.ImageError, agent.AgentError) as e:
            raise TargetError(f"{self.name}: {e}") from None
        version = podman.runtime_version(self.opts, self.runtime)
        self.virtualization = f"OCI container: {self.opts.runtime_name} ({version}) via podman {podman_version}"
        self.profile = {**self.opts.profile(), "oci_runtime_version": version, "podman_version": podman_version,
                        "oci_image": self.image}
        if notes:
            self.profile["oci_notes"] = "; ".join(notes)

    def describe(self):
        return {"virtualization": self.virtualization, **self.profile}

    def run_round(self, invocations, round_dir, timeout):
        results = round_dir / "results"
        results.mkdir(parents=True, exist_ok=True)
        (round_dir / "scratch").mkdir(exist_ok=True)
        inv = [dataclasses.replace(i, argv=[f"{GUEST_BIN}/{pathlib.Path(i.argv[0]).name}", *i.argv[1:]])
               for i in invocations]
        text = script.render(inv, results=f"{GUEST_ROUND}/results", probe=f"{GUEST_BIN}/shmconform-probe",
                             run_id=self.ctx.run_id, scratch=f"{GUEST_ROUND}/scratch", prologue=PROFILE_PROLOGUE)
        (round_dir / "round.sh").write_text(text)
        name = f"shmconform-{self.ctx.run_id}-{_safe(self.name)}-{round_dir.name}"[:200]
        args = podman.run_args(self.opts, runtime=self.runtime, runtime_flags=self.runtime_flags, name=name,
                               owner=self.owner, mounts=[(round_dir, GUEST_ROUND)], image=self.image,
                               command=["/bin/sh", f"{GUEST_ROUND}/round.sh"])
        log_path = round_dir / "podman.log"
        with open(log_path, "wb") as log:
            rc, timed_out = supervise(self.podman.command(*args), timeout=timeout, stop=self.ctx.stop,
                                      stdout=log, stderr=subprocess.STDOUT, env=self.podman.env())
        if timed_out or self.ctx.stop.is_set() or rc not in (0, None):
            # A killed podman leaves its container (conmon is not in our process group), and a
            # sandbox that hung at start leaves its processes even after `podman rm -f`.
            cid = (self.podman.call("inspect", "--format", "{{.Id}}", name, timeout=60).stdout.decode().strip()
                   or podman.container_id_of(name))
            self.podman.call("rm", "-f", "-t", "0", name, timeout=60)
            podman.reap_container(cid)
        log_text = log_path.read_text(errors="replace")
        if not (results / "env.txt").exists() and not timed_out and not self.ctx.stop.is_set():
            raise TargetError(diagnose.cause(log_text, runtime=f"{self.name} ({self.opts.runtime_name})",
                                             paths={"the round directory": round_dir}))
        prof = results / "container.txt"
        if prof.exists():
            extra = container_profile(prof.read_text(errors="replace"))
            with open(results / "env.txt", "a") as env:
                env.writelines(f"{k}={v}\n" for k, v in extra.items())
        return RoundOutcome(results, log_text, timed_out, rc)

    def teardown(self):
        if self.podman is not None:
            try:
                self.podman.remove_containers(self.owner)
            except podman.PodmanError:
                pass
            podman.wait_for_cleanups(self.podman.storage)
            podman.remove_new_empty_state_dirs(self.state_dirs_before)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
