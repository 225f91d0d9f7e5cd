"""The `lava:` target (family module of harness/targets/; the LAVA pieces it
drives are in harness/lava/): each round is the LAVA job `shmconform lava job` writes,
run on this machine by lava-run on a QEMU device, its results read back.

  lava:qemu:KERNEL          QEMU amd64 device (KERNEL as for qemu:, a vmlinuz or a Debian package)
  lava:qemu/arm64:KERNEL    QEMU arm64 device (static aarch64 build, arm64 busybox)

So the job a lab would run is proven here, in the same report as every other
target. The round's invocations become the overlay's filters file (which
binaries, each with its gtest filter); the job log becomes, per binary, a
GoogleTest JSON report, its console output and an exit status, which the
engine reads as it reads any target's. The guest's runner already reruns a
binary past a crash or hang, so a round normally gives every test its verdict;
a binary that crashed or hung is handed over as a gtest console transcript
ending in the test that died, so the engine records crash/timeout as on qemu:.
Stress and benchmark runs are not part of the LAVA test definition: they record
no result on this target.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import re
import shutil
import signal

from harness.lava import artifacts, dispatcher, importer, job as job_mod, results
from harness.lava.artifacts import ArtifactError
from harness.targets.base import KernelTarget, RoundOutcome, TargetError
from harness.targets.probe import probe_binary
from harness.targets.processes import supervise
from harness.targets.spec import family

USAGE = "lava:DEVICE_TYPE[/ARCH]:KERNEL"


def _gtest_json(cases: list) -> str:
    """A GoogleTest JSON report of one binary's results (importer TestResults)."""
    suites: dict[str, list] = {}
    for r in cases:
        entry = {"name": r.name, "classname": r.suite, "status": "RUN",
                 "result": "SKIPPED" if r.status == "skip" else "COMPLETED",
                 "time": f"{r.duration_s:.3f}s"}
        if r.status not in ("pass", "skip"):
            text = r.message or r.output or "failed"
            if r.status in ("crash", "timeout", "error"):
                text = f"{r.status} on the LAVA device: {text}"
            entry["failures"] = [{"failure": text, "type": ""}]
        if r.status == "skip" and r.message:
            entry["skipped"] = [{"message": r.message}]
        if r.requirements:
            entry["requirements"] = ",".join(r.requirements)
        suites.setdefault(r.suite, []).append(entry)
    return json.dumps({"testsuites": [{"name": s, "testsuite": t} for s, t in suites.items()]})


def _kill_strays(work: pathlib.Path) -> None:
    """QEMU runs in a session of lava-run's own (pexpect): when lava-run was killed
    it may survive. Kill only processes whose command line names our work dir."""
    mine = str(work).encode()
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if mine in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


@family("lava", "lava:qemu[/arm64]:KERNEL",
        "the LAVA job of `shmconform lava job`, run here by lava-run on a QEMU device",
        takes_arg=True, order=90)
class LavaTarget(KernelTarget):
    kind = "lava"

    def __init__(self, spec: str, arg: str):
        super().__init__(spec)
        device, sep, kernel = arg.partition(":")
        if not sep or not kernel or not device:
            raise TargetError(f"lava: write {USAGE}, e.g. lava:qemu:linux-image-cloud-amd64")
        device_type, _, arch = device.partition("/")
        if device_type not in job_mod.DEVICE_TYPES:
            raise TargetError(f"lava: lava-run here drives the device types {', '.join(job_mod.DEVICE_TYPES)}, "
                              f"not '{device_type}' (a board runs in its lab: see ci/lava/README.md)")
        try:
            self.lava_arch = artifacts.arch(arch or "amd64")
        except ArtifactError as e:
            raise TargetError(str(e)) from None
        self.device_type, self.kernel_arg = device_type, kernel
        self.preset = self.lava_arch.preset
        self.arch = self.lava_arch.probe_arch
        self.virtualization = f"LAVA device type {device_type} ({self.lava_arch.name}), lava-run, TCG"
        self.job_id = 0

    def prepare(self, ctx):
        super().prepare(ctx)
        try:
            dispatcher.ensure_lava_run()
            if not shutil.which(self.lava_arch.qemu):
                raise ArtifactError(f"lava: {self.lava_arch.qemu} is not installed (ci/bootstrap.sh lava)")
            # Fetch the kernel and build the ramdisk once, before the first round.
            artifacts.kernel(self.kernel_arg, self.lava_arch, ctx.cache_dir)
            artifacts.ramdisk(self.lava_arch, ctx.cache_dir)
            dispatcher.templates(ctx.cache_dir)
        except ArtifactError as e:
            raise TargetError(str(e)) from None
        self.probe = probe_binary(ctx, self.arch)
        self.bins = self.binaries_dir(ctx)
        # KVM only when asked for (--accel kvm) and native: a broken KVM hangs QEMU.
        self.kvm = ctx.accel == "kvm" and self.lava_arch.name == "amd64" and os.uname().machine == "x86_64"
        self.virtualization = self.virtualization.replace("TCG", "KVM" if self.kvm else "TCG")

    def run_round(self, invocations, round_dir, timeout):
        res = round_dir / "results"
        res.mkdir(parents=True, exist_ok=True)
        wanted = {}
        ids = {}
        for inv in invocations:
            name = pathlib.Path(inv.argv[0]).name
            if not name.startswith("conformance-"):
                continue            # stress/bench: not in the test definition
            flt = next((a.split("=", 1)[1] for a in inv.argv if a.startswith("--gtest_filter=")), "*")
            wanted[name], ids[name] = flt, inv.id
        if not wanted:
            (res / "round.done").write_text("")
            return RoundOutcome(res)
        self.job_id += 1
        jdir = round_dir / "job"
        try:
            opts = job_mod.JobOptions(kernel=self.kernel_arg, device_type=self.device_type, arch=self.lava_arch.name,
                                      job_timeout_min=max(10, math.ceil(timeout / 60)),
                                      kernel_args=self.ctx.kernel_args,
                                      binary_timeout=max(60, int(min(i.total_timeout for i in invocations))),
                                      test_timeout=max(i.per_test_timeout for i in invocations))
            written = job_mod.write(opts, jdir, cache=self.ctx.cache_dir, bins=self.bins, probe=self.probe,
                                    filters=wanted)
            work = round_dir / "lava"
            out = dispatcher.run(written.job, work, self.ctx.cache_dir, self.device_type, self.lava_arch.name,
                                 timeout=timeout, stop=self.ctx.stop, supervise=supervise,
                                 job_id=self.job_id, kvm=self.kvm)
        except ArtifactError as e:
            raise TargetError(str(e)) from None
        finally:
            _kill_strays(round_dir)
        try:
            job = results.read(out.log)[0]
        except results.ResultsError as e:
            raise TargetError(f"lava: lava-run left no usable job log ({e}); see {out.log}") from None
        if not job.cases and not job.env:
            raise TargetError("lava: the job ran no test: " + (job.lava_error or f"see {out.log}"))
        if job.env:
            (res / "env.txt").write_text("".join(f"{k}={v}\n" for k, v in job.env.items()))
        tr = importer.to_target(job, importer.Requirements([]), self.name)  # ids: the engine's listing
        by_binary: dict[str, list] = {}
        for r in tr.results:
            by_binary.setdefault(r.binary, []).append(r)
        for name, iid in ids.items():
            self._binary_files(job, name, iid, by_binary.get(name, []), res)
        if job.finished:
            (res / "round.done").write_text("")
        # The guest's whole console (boot, kernel messages, tests): the incidents come from it.
        console = "\n".join(job.target_lines)
        if job.lava_error:
            console += f"\nLAVA: {job.lava_error}"
        return RoundOutcome(res, console, out.timed_out, out.returncode)


    @staticmethod
    def _binary_files(job: results.LavaJob, name: str, iid: str, got: list, res: pathlib.Path) -> None:
        """What the round script would have left for one binary: ID.out, ID.rc and, when
        no test crashed, ID.json (a crash or hang goes the console's way, as on qemu:)."""
        if not got:
            return                  # never ran (the job ended first): the engine reschedules it
        console = "\n".join(job.console.get(name, [])) + "\n"
        if all(r.suite == "<binary>" for r in got):
            why = job.crashes.get((name, "-"), "")
            (res / f"{iid}.out").write_text(console)
            (res / f"{iid}.rc").write_text(f"{_exit_status(why) or 127}\n")
            return
        crashed = [r for r in got if r.status in ("crash", "timeout")]
        if not crashed:
            (res / f"{iid}.out").write_text(console)
            (res / f"{iid}.json").write_text(_gtest_json(got))
            (res / f"{iid}.rc").write_text("1\n" if any(r.status not in ("pass", "skip") for r in got) else "0\n")
            return
        (res / f"{iid}.out").write_text(_transcript(got, crashed[-1]))
        last = crashed[-1]
        if last.status == "timeout":
            (res / f"{iid}.timeout").write_text(f"{last.message} on the LAVA device\n")
            (res / f"{iid}.rc").write_text("137\n")
        else:
            (res / f"{iid}.rc").write_text(f"{_exit_status(last.message) or 134}\n")


def _exit_status(why: str) -> int | None:
    m = re.search(r"exit status (\d+)", why or "")
    return int(m.group(1)) if m else None


_VERDICT = {"pass": "[       OK ]", "skip": "[  SKIPPED ]"}


def _transcript(got: list, last) -> str:
    """A gtest console for a binary that crashed or hung in the guest: every test with
    its verdict, the one that died last (no verdict), then gtest's closing line, so
    the engine records that test as crash/timeout exactly as it would on qemu:.
    Earlier crashes (the runner carried on past them) are failures saying so."""
    lines = ["[==========] Running tests from the LAVA job."]
    for r in got:
        if r is last:
            continue
        full = f"{r.suite}.{r.name}"
        lines.append(f"[ RUN      ] {full}")
        body = r.output or (r.message if r.status != "pass" else "")
        lines += [ln for ln in body.splitlines()]
        lines.append(f"{_VERDICT.get(r.status, '[  FAILED  ]')} {full} ({round(r.duration_s * 1000)} ms)")
    lines.append(f"[ RUN      ] {last.suite}.{last.name}")
    lines += last.output.splitlines()
    lines.append(f"[==========] {len(got)} tests from 1 test suite ran. (0 ms total)")
    return "\n".join(lines) + "\n"
