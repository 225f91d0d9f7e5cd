"""What changed between kernels: when a run (or two compared runs) holds
several kernels of one architecture, the requirements whose verdict differs
between them, with each kernel's verdict in version order. The page a kernel
maintainer reads first: "MMAP.X passes on 6.1, fails on 6.12 and 6.18".

Kernels are the targets that run a kernel of their own: this machine (local),
user-mode Linux, QEMU and ssh hosts. Namespaces, sandboxes and qemu-user run
on this machine's kernel and are left out. UML is an architecture of its own
("um"): a UML kernel differs from a native one of the same version in more
than its version.
"""
from __future__ import annotations

import dataclasses
import re

from harness import model
from harness.report import analysis

KERNEL_KINDS = ("host", "uml", "qemu", "ssh")


@dataclasses.dataclass
class Kernel:
    target: str
    release: str
    arch: str
    page_size: int | None

    @property
    def label(self) -> str:
        pages = f", {self.page_size // 1024} KiB pages" if self.page_size else ""
        return f"{self.release} ({self.target}{pages})"


@dataclasses.dataclass
class Change:
    """A requirement whose verdict differs between kernels; statuses in version order."""
    rid: str
    statement: str
    statuses: list[tuple[Kernel, str]]

    def kernels_with(self, outcome: str) -> list[Kernel]:
        return [k for k, s in self.statuses if analysis.outcome_class(s) == outcome]


@dataclasses.dataclass
class ArchChanges:
    arch: str
    kernels: list[Kernel]      # version order
    changes: list[Change]


def version_key(release: str) -> tuple:
    """"6.1.0-50-cloud-amd64" < "6.12.117+deb12-arm64" < "6.18.0": the numbers in
    order, then the rest of the string (flavours of one version side by side)."""
    return (tuple(int(n) for n in re.findall(r"\d+", re.split(r"[^\d.\-]", release, maxsplit=1)[0])), release)


def kernel_of(target: model.TargetRun) -> Kernel | None:
    env = target.environment or {}
    if target.kind not in KERNEL_KINDS or target.status == "broken" or not env.get("kernel_release"):
        return None
    arch = "um" if target.kind == "uml" else str(env.get("arch") or "?")
    size = env.get("page_size")
    return Kernel(target.name, str(env["kernel_release"]), arch, int(size) if str(size or "").isdigit() else None)


def requirement_statuses(target: model.TargetRun) -> dict[str, str]:
    """Requirement -> the worst status of the tests naming it on target."""
    out: dict[str, list[str]] = {}
    for r in target.results:
        for rid in r.requirements or [analysis.UNTAGGED]:
            out.setdefault(rid, []).append(r.status)
    return {rid: analysis.worst(statuses) for rid, statuses in out.items()}


def changes(run: model.Run, kernels: list[tuple[Kernel, model.TargetRun]]) -> list[Change]:
    """Requirements that pass on some of these kernels and fail on others."""
    per = [(k, requirement_statuses(t)) for k, t in kernels]
    out = []
    for rid in sorted({rid for _, st in per for rid in st}):
        statuses = [(k, st[rid]) for k, st in per if rid in st]
        classes = {analysis.outcome_class(s) for _, s in statuses}
        if "pass" in classes and "fail" in classes:
            statement = str(run.requirements.get(rid, {}).get("statement", ""))
            out.append(Change(rid, statement, statuses))
    return out


def by_architecture(run: model.Run) -> list[ArchChanges]:
    """Each architecture with two kernels (different releases) or more."""
    groups: dict[str, list[tuple[Kernel, model.TargetRun]]] = {}
    for t in run.targets:
        k = kernel_of(t)
        if k is not None:
            groups.setdefault(k.arch, []).append((k, t))
    out = []
    for arch, members in sorted(groups.items()):
        if len({k.release for k, _ in members}) < 2:
            continue
        members.sort(key=lambda kt: version_key(kt[0].release))
        out.append(ArchChanges(arch, [k for k, _ in members], changes(run, members)))
    return out


def render_text(change: Change) -> str:
    """"MMAP.X: passes on 6.1.0-50 (...); fails on 6.12.117 (...)  [6.1.0-50:pass → 6.12.117:fail]"."""
    parts = []
    for outcome, verb in (("pass", "passes"), ("fail", "fails")):
        ks = change.kernels_with(outcome)
        if ks:
            parts.append(f"{verb} on " + ", ".join(k.label for k in ks))
    order = " → ".join(f"{k.release}:{s}" for k, s in change.statuses)
    return f"{change.rid}: {'; '.join(parts)}  [{order}]"
