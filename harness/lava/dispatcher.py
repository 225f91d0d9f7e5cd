"""lava-run on this machine: LAVA's dispatcher without a server or a database.

lava-dispatcher (Debian) is installed by `ci/bootstrap.sh lava` the first time
a lava verb or target needs it. The device YAML is rendered with jinja2 from
the device-type templates of the lava-server package, which is downloaded and
unpacked into the harness's cache (never installed). The dispatcher YAML
points LAVA's scratch directory into our work directory (its `prefix`), so a
job leaves nothing in /var/lib/lava.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import threading
import time

import yaml

from harness.lava import artifacts
from harness.lava.artifacts import ArtifactError

ROOT = artifacts.ROOT
LAVA_RUN = "/usr/bin/lava-run"
PYTHON = "/usr/bin/python3"
_lock = threading.Lock()


def ensure_lava_run() -> None:
    """lava-run, installed through the project's bootstrap on first use."""
    with _lock:
        if os.access(LAVA_RUN, os.X_OK):
            return
        r = subprocess.run([str(ROOT / "ci" / "bootstrap.sh"), "lava"], capture_output=True, text=True)
        if r.returncode != 0 or not os.access(LAVA_RUN, os.X_OK):
            last = (r.stderr.strip().splitlines() or ["lava-run still missing"])[-1]
            raise ArtifactError(f"lava: cannot install lava-dispatcher: {last}")


def templates(cache: pathlib.Path) -> pathlib.Path:
    """The device-types directory of lava-server, unpacked into the cache."""
    with _lock:
        base = cache / "lava"
        for d in sorted(base.glob("lava-server-*/usr/share/lava-server/device-types")):
            if (d / "qemu.jinja2").is_file():
                return d
        base.mkdir(parents=True, exist_ok=True)
        debs = sorted(base.glob("lava-server_*.deb"))
        if not debs:
            r = subprocess.run(["apt-get", "download", "-q", "lava-server"], cwd=base, capture_output=True, text=True)
            debs = sorted(base.glob("lava-server_*.deb"))
            if not debs:
                raise ArtifactError("lava: cannot download lava-server for its device-type templates: "
                                    + (r.stderr.strip().splitlines() or ["?"])[-1])
        version = debs[-1].name.split("_")[1]
        dest = base / f"lava-server-{version}"
        tmp = base / f".lava-server-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        r = subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)], capture_output=True, text=True)
        d = tmp / "usr" / "share" / "lava-server" / "device-types"
        if r.returncode != 0 or not (d / "qemu.jinja2").is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            raise ArtifactError(f"lava: {debs[-1].name} holds no device-type templates")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        return dest / "usr" / "share" / "lava-server" / "device-types"


def device_dict(device_type: str, arch: str, memory_mb: int, kvm: bool = False) -> str:
    """A device dictionary for a QEMU device on this machine: TCG unless kvm (KVM does
    not work on every machine; a lab's own device dictionary decides for its devices)."""
    lines = [f"{{% extends '{device_type}.jinja2' %}}", f"{{% set arch = '{arch}' %}}",
             f"{{% set no_kvm = {not kvm} %}}",
             f"{{% set memory = {memory_mb} %}}", "{% set extra_options = ['-smp 2'] %}"]
    if arch == "arm64":
        lines += ["{% set cpu = 'max' %}", "{% set machine = 'virt' %}"]
    return "\n".join(lines) + "\n"


def render_device(cache: pathlib.Path, device_type: str, arch: str, memory_mb: int, out: pathlib.Path,
                  kvm: bool = False) -> pathlib.Path:
    import jinja2  # noqa: PLC0415 - python3-jinja2, only for LAVA users

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates(cache))), autoescape=False,
                             trim_blocks=True)
    try:
        text = env.from_string(device_dict(device_type, arch, memory_mb, kvm)).render()
    except jinja2.TemplateNotFound:
        raise ArtifactError(f"lava: lava-server has no device type '{device_type}'") from None
    yaml.safe_load(text)  # a template that renders garbage is our bug: fail loudly here
    out.write_text(text)
    return out


def _remove_scratch(work: pathlib.Path) -> None:
    """LAVA removes its scratch at the end of a job; validation leaves its empty
    directories, a killed job may leave everything."""
    for scratch in work.glob("scratch-*"):
        shutil.rmtree(scratch, ignore_errors=True)


def write_dispatcher(work: pathlib.Path) -> pathlib.Path:
    path = work / "dispatcher.yaml"
    # An absolute prefix: LAVA's per-job scratch becomes WORK/scratch-JOBID, not /var/lib/lava.
    path.write_text(yaml.safe_dump({"prefix": str(work / "scratch-")}))
    return path


@dataclasses.dataclass
class Outcome:
    returncode: int | None
    timed_out: bool
    output_dir: pathlib.Path
    log: pathlib.Path                # LAVA's job log (lava-run's stderr: one entry a line)
    wall_s: float


def command(job: pathlib.Path, device: pathlib.Path, dispatcher: pathlib.Path, out: pathlib.Path,
            job_id: int, validate: bool) -> list[str]:
    return [PYTHON, LAVA_RUN, *(["--validate"] if validate else []), "--device", str(device),
            "--dispatcher", str(dispatcher), "--job-id", str(job_id), "--output-dir", str(out), str(job)]


def prepare(work: pathlib.Path, cache: pathlib.Path, device_type: str, arch: str,
            memory_mb: int, kvm: bool = False) -> tuple[pathlib.Path, pathlib.Path]:
    ensure_lava_run()
    work.mkdir(parents=True, exist_ok=True)
    device = render_device(cache, device_type, arch, memory_mb, work / f"device-{device_type}-{arch}.yaml", kvm)
    return device, write_dispatcher(work)


def validate(job: pathlib.Path, work: pathlib.Path, cache: pathlib.Path, device_type: str, arch: str,
             memory_mb: int = 1024) -> tuple[bool, str]:
    """lava-run --validate: (valid, the reason in one line when not)."""
    device, disp = prepare(work, cache, device_type, arch, memory_mb)
    out = work / "validate"
    try:
        r = subprocess.run(command(job, device, disp, out, 1, True), capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        # It asks every http(s) URL of the job for its size: an unreachable server hangs it.
        return False, "lava-run --validate did not finish in 120 s (are the job's URLs reachable?)"
    finally:
        _remove_scratch(work)
    if r.returncode == 0:
        return True, ""
    text = (r.stdout + r.stderr).strip().splitlines()
    errors = [ln for ln in text if "error" in ln.lower()]
    return False, (errors or text or [f"exit {r.returncode}"])[-1][:300]


def run(job: pathlib.Path, work: pathlib.Path, cache: pathlib.Path, device_type: str, arch: str, *,
        timeout: float, stop: threading.Event, supervise, job_id: int = 1, memory_mb: int = 1024,
        kvm: bool = False) -> Outcome:
    """Run the job to completion with lava-run; supervise is the harness's process
    supervisor (own process group, killed on timeout or stop)."""
    device, disp = prepare(work, cache, device_type, arch, memory_mb, kvm)
    out = work / f"output-{job_id}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    log = out.with_name(f"job-{job_id}.log")
    # lava-run writes its job log (one entry a line) on stderr; stdout apart.
    with open(log, "wb") as stderr, open(work / f"lava-run-{job_id}.stdout", "wb") as stdout:
        rc, timed_out = supervise(command(job, device, disp, out, job_id, False), timeout=timeout, stop=stop,
                                  stdout=stdout, stderr=stderr)
    _remove_scratch(work)
    return Outcome(rc, timed_out, out, log, round(time.monotonic() - t0, 3))
