"""`shmconform lava job`: a complete LAVA job for a device type and a kernel.

The job deploys to tmpfs a kernel and the busybox ramdisk (artifacts.py), with
LAVA's own overlay and the suite overlay (static binaries, probe, runner)
unpacked into the ramdisk by the dispatcher; boots it with QEMU; and runs the
test definition of ci/lava/shmconform.yaml, inline (self-contained: the runner
comes in the overlay) or from a git repository (what a lab that tracks the
project uses). The job's metadata names the kernel, device type and
architecture, so `shmconform lava import` can label the results.

Supported device types (each proven with `lava-run --validate` by the tests):
  qemu     arch amd64 (qemu-system-x86_64) or arm64 (qemu-system-aarch64, virt, cpu max)
A real board: see ci/lava/README.md (the test action and the overlay do not change;
the deploy and boot actions are the board's).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import shutil

import yaml

from harness import machines
from harness.lava import artifacts
from harness.lava.artifacts import ArtifactError

ROOT = artifacts.ROOT
DEFINITION = ROOT / "ci" / "lava" / "shmconform.yaml"
DEVICE_TYPES = ("qemu",)
META = "shmconform"                  # job metadata keys: shmconform.kernel, ...


@dataclasses.dataclass
class JobOptions:
    kernel: str                      # a vmlinuz path or a Debian linux-image package
    device_type: str = "qemu"
    arch: str = "amd64"
    artifacts_url: str | None = None  # base URL the lab fetches the files from (default file://OUT)
    test_from: str = "inline"        # inline, or git:URL[@REVISION] (ci/lava/shmconform.yaml there)
    suite_url: str | None = None     # with git: a .tar.gz of bin/conformance-* instead of the overlay
    gtest_filter: str = ""
    binary_timeout: int = 900
    test_timeout: int = 300          # seconds without a new test before a binary counts as hung
    job_timeout_min: int = 60
    memory_mb: int = 1024
    kernel_args: str = ""
    job_name: str | None = None
    busybox: pathlib.Path | None = None  # a static busybox for the ramdisk (default: the architecture's)


@dataclasses.dataclass
class WrittenJob:
    job: pathlib.Path
    kernel: pathlib.Path
    ramdisk: pathlib.Path
    overlay: pathlib.Path | None
    arch: str
    device_type: str
    kernel_label: str


def _url(base: str | None, path: pathlib.Path) -> str:
    if base:
        return base.rstrip("/") + "/" + path.name
    return path.resolve().as_uri()


def inline_definition() -> dict:
    """ci/lava/shmconform.yaml with its step calling the runner the overlay carries."""
    try:
        d = yaml.safe_load(DEFINITION.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ArtifactError(f"lava: cannot read {DEFINITION}: {e}") from None
    d["run"]["steps"] = [step.replace("./ci/lava/run-suite.sh", f"{artifacts.GUEST_SUITE}/run-suite.sh")
                         for step in d["run"]["steps"]]
    return d


def _test_action(opts: JobOptions, minutes: int, labels: str) -> dict:
    params = {"SUITE": artifacts.GUEST_SUITE, "FILTER": opts.gtest_filter,
              "BINARY_TIMEOUT": str(opts.binary_timeout), "LABELS": labels,
              "TEST_TIMEOUT": str(opts.test_timeout)}
    if "'" in opts.gtest_filter:
        raise ArtifactError("lava: a gtest filter with a quote cannot be passed to LAVA")
    if opts.test_from == "inline":
        definition = {"from": "inline", "name": "shmconform", "path": "inline/shmconform.yaml",
                      "repository": inline_definition()}
    else:
        m = re.fullmatch(r"git:(.+?)(?:@([\w./-]+))?", opts.test_from)
        if not m:
            raise ArtifactError(f"lava: --test-from wants inline or git:URL[@REVISION], got '{opts.test_from}'")
        definition = {"from": "git", "repository": m.group(1), "path": "ci/lava/shmconform.yaml",
                      "name": "shmconform"}
        if m.group(2):
            definition["revision"] = m.group(2)
        if opts.suite_url:
            params["SUITE_URL"] = opts.suite_url
    definition["parameters"] = params
    return {"test": {"timeout": {"minutes": minutes}, "definitions": [definition]}}


def _qemu_actions(opts: JobOptions, a: artifacts.Arch, kernel_url: str, ramdisk_url: str,
                  overlay_url: str | None) -> list[dict]:
    append = f"console={a.console},115200 rdinit=/init hugepages={machines.HUGE_PAGES} {opts.kernel_args}".strip()
    ramdisk = {"url": ramdisk_url, "image_arg": "-initrd {ramdisk}", "compression": "gz",
               "format": "cpio.newc", "overlays": {"lava": True}}
    if overlay_url:
        ramdisk["overlays"]["shmconform"] = {"url": overlay_url, "compression": "gz", "format": "tar",
                                             "path": "/"}
    deploy = {"deploy": {"to": "tmpfs", "timeout": {"minutes": 10}, "images": {
        "kernel": {"url": kernel_url, "image_arg": f'-kernel {{kernel}} -append "{append}"'},
        "ramdisk": ramdisk}}}
    boot = {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"minutes": 5}, "prompts": ["/ # "]}}
    return [deploy, boot]


def write(opts: JobOptions, out: pathlib.Path, *, cache: pathlib.Path, bins: pathlib.Path | None,
          probe: pathlib.Path | None, filters: dict[str, str] | None = None) -> WrittenJob:
    """Write job.yaml and the files it deploys into out. bins: the static build
    of the architecture (bins/conformance/conformance-*); filters: only these
    binaries, each with a gtest filter (the lava: target's later rounds)."""
    if opts.device_type not in DEVICE_TYPES:
        raise ArtifactError(f"lava: device type '{opts.device_type}' is not one the job writer knows "
                            f"({', '.join(DEVICE_TYPES)}); for a board see ci/lava/README.md")
    a = artifacts.arch(opts.arch)
    out.mkdir(parents=True, exist_ok=True)
    kernel_src = artifacts.kernel(opts.kernel, a, cache)
    kernel = out / f"vmlinuz-{a.name}"
    shutil.copyfile(kernel_src, kernel)
    ramdisk = out / f"ramdisk-{a.name}.cpio.gz"
    shutil.copyfile(artifacts.ramdisk(a, cache, opts.busybox), ramdisk)
    overlay = None
    if opts.test_from == "inline" or not opts.suite_url:
        if bins is None:
            raise ArtifactError("lava: no static build to put in the overlay")
        chosen = artifacts.conformance_binaries(bins)
        if filters is not None:
            chosen = [b for b in chosen if b.name in filters]
        overlay = artifacts.suite_overlay(chosen, probe, out / f"shmconform-suite-{a.name}.tar.gz", filters)
    label = _kernel_label(opts.kernel, kernel_src)
    minutes = max(5, opts.job_timeout_min - 20)
    # Echoed by the runner into the log: a job log alone then says what ran where.
    labels = f"kernel={label} device_type={opts.device_type} arch={a.name}"
    if any(c.isspace() or c == "'" for c in label):
        raise ArtifactError(f"lava: a kernel name with spaces or quotes cannot label a job: {label}")
    job = {
        "device_type": opts.device_type,
        "job_name": opts.job_name or f"shmconform {label} ({opts.device_type} {a.name})",
        "timeouts": {"job": {"minutes": opts.job_timeout_min}, "action": {"minutes": minutes},
                     "connection": {"minutes": 2}},
        "priority": "medium",
        "visibility": "public",
        # Job context: what a lab's QEMU device template takes from the job (two
        # CPUs like the qemu: target, so both see the same machine).
        "context": {"arch": a.name, "memory": opts.memory_mb, "extra_options": ["-smp 2"],
                    **({"cpu": "max", "machine": "virt"} if a.name == "arm64" else {})},
        "metadata": {f"{META}.kernel": label, f"{META}.kernel_file": kernel_src.name,
                     f"{META}.device_type": opts.device_type, f"{META}.arch": a.name},
        "actions": [*_qemu_actions(opts, a, _url(opts.artifacts_url, kernel), _url(opts.artifacts_url, ramdisk),
                                   _url(opts.artifacts_url, overlay) if overlay else None),
                    _test_action(opts, minutes, labels)],
    }
    path = out / "job.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False, width=200))
    return WrittenJob(path, kernel, ramdisk, overlay, a.name, opts.device_type, label)


def _kernel_label(arg: str, image: pathlib.Path) -> str:
    """What the report calls the kernel: the package name as given, else the image's file name."""
    if "/" not in arg and not pathlib.Path(arg).exists():
        return arg
    return image.name
