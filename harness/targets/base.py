"""The target interface every family implements, and what a round returns.

  prepare(ctx)            check the input, build/fetch what it needs (TargetError: one line)
  binaries_dir(ctx)       the host build directory whose binaries it runs
  run_round(invs, dir)    run one round script (see harness/script.py); results land in dir/results
  incidents(outcome)      what went wrong with the target itself in that round (panic, taint, ...)
  teardown()              remove what prepare/run left (remote directories)
"""
from __future__ import annotations

import dataclasses
import pathlib
import threading

from harness import builds
from harness.script import Invocation
from harness.targets import incidents
from harness.targets.incidents import Incident


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


class Target:
    kind = "host"
    virtualization = "none"
    arch = "x86_64"
    preset: str | None = None        # build preset whose binaries it runs (None: the main build)

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

    def incidents(self, outcome: RoundOutcome, invocations: list[Invocation]) -> list[Incident]:
        """What went wrong with the kernel in that round: here, taint changes the
        round script saw (any target reads /proc/sys/kernel/tainted)."""
        return incidents.from_round_files(outcome.results, [i.id for i in invocations])

    def teardown(self) -> None:
        pass

    def describe(self) -> dict:
        return {"virtualization": self.virtualization}


class KernelTarget(Target):
    """A target that boots a kernel of its own (UML, QEMU): its console is the
    kernel's, and the kernel can die under the round script."""

    def incidents(self, outcome, invocations):
        found = super().incidents(outcome, invocations)
        found += incidents.from_console(outcome.console or "")
        if (not (outcome.results / "round.done").exists() and not outcome.timed_out
                and not self.ctx.stop.is_set()):
            tail = "\n".join((outcome.console or "").splitlines()[-incidents.LOG_LINES:])
            found.append(Incident("died", "the kernel stopped before the round finished", kernel_log=tail))
        return found
