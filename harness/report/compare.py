"""compare BASE NEW: what changed between two runs, per target.

  regression   passed (pass/xpass) in BASE, fails (fail/timeout/crash/error) in NEW  -> exit 1
  fix          failed in BASE, passes in NEW
  changed      any other status change (e.g. pass -> skip, fail -> xfail)
  new/removed  tests present in only one run
Targets are matched by name, or as the user pairs them (--pair BASE=NEW: a run on
uml:OLD-KERNEL against one on uml:NEW-KERNEL); two runs of one target each are
paired whatever their names. A target in only one run is listed as such, and
when no target is compared at all that is an error (NothingCompared), not a pass.
A pair on different kernels also lists the requirements whose verdict differs,
with each kernel's version (kernel_diff).
Benchmarks: a metric that moved by more than the noise threshold (default 10 %).
"""
from __future__ import annotations

import dataclasses

from harness import model
from harness.report import analysis, kernel_diff, perf
from harness.report.document import ReportError

PASSING = ("pass", "xpass")


class NothingCompared(ReportError):
    """No target of one run was matched with a target of the other."""


@dataclasses.dataclass
class TargetDiff:
    target: str                      # the name, or "BASE-NAME -> NEW-NAME" for a pair of two names
    regressions: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (test, old, new)
    fixes: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    changed: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    new: list[tuple[str, str]] = dataclasses.field(default_factory=list)               # (test, status)
    removed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    bench: list[tuple[str, float, float, str, bool]] = dataclasses.field(default_factory=list)  # name, old, new, unit, worse
    kernels: list[kernel_diff.Change] = dataclasses.field(default_factory=list)  # when the kernels differ


@dataclasses.dataclass
class Comparison:
    targets: list[TargetDiff]
    only_base: list[str]
    only_new: list[str]

    @property
    def regressions(self) -> int:
        return sum(len(t.regressions) for t in self.targets)


def pairs(base: model.Run, new: model.Run, given: list[str] | None = None) -> list[tuple[str, str]]:
    """(base target, new target) to compare: the user's BASE=NEW pairs, else the
    targets of one name in both runs, else the only target of each run."""
    b_names, n_names = [t.name for t in base.targets], [t.name for t in new.targets]
    if given:
        out = []
        for item in given:
            old, sep, cur = item.partition("=")
            if not sep or not old or not cur:
                raise ReportError(f"--pair wants BASE-TARGET=NEW-TARGET, got '{item}'")
            if old not in b_names:
                raise ReportError(f"--pair {item}: no target '{old}' in BASE (it has: {', '.join(b_names) or 'none'})")
            if cur not in n_names:
                raise ReportError(f"--pair {item}: no target '{cur}' in NEW (it has: {', '.join(n_names) or 'none'})")
            out.append((old, cur))
        return out
    common = [(n, n) for n in n_names if n in b_names]
    if not common and len(b_names) == 1 and len(n_names) == 1:
        return [(b_names[0], n_names[0])]
    return common


def compare(base: model.Run, new: model.Run, noise: float = 0.10, pair: list[str] | None = None) -> Comparison:
    b_targets = {t.name: t for t in base.targets}
    n_targets = {t.name: t for t in new.targets}
    matched = pairs(base, new, pair)
    diffs = []
    for b_name, n_name in matched:
        bt, nt = b_targets[b_name], n_targets[n_name]
        d = TargetDiff(b_name if b_name == n_name else f"{b_name} -> {n_name}")
        old = {r.test_id: r.status for r in bt.results}
        cur = {r.test_id: r.status for r in nt.results}
        for test, status in cur.items():
            if test not in old:
                d.new.append((test, status))
                continue
            was = old[test]
            if was == status:
                continue
            if was in PASSING and status in analysis.BAD:
                d.regressions.append((test, was, status))
            elif was in analysis.BAD + ("xfail",) and status in PASSING:
                d.fixes.append((test, was, status))
            else:
                d.changed.append((test, was, status))
        d.removed = [(test, status) for test, status in old.items() if test not in cur]
        bm, nm = perf.target_metrics(bt), perf.target_metrics(nt)
        for bench_name, m in nm.items():
            o = bm.get(bench_name)
            if o is None or o.unit != m.unit or not o.value:
                continue
            change = (m.value - o.value) / o.value
            if abs(change) > noise:
                worse = change < 0 if m.higher_better else change > 0
                d.bench.append((bench_name, o.value, m.value, m.unit, worse))
        d.kernels = _kernel_changes(base, bt, nt)
        diffs.append(d)
    used_b, used_n = {b for b, _ in matched}, {n for _, n in matched}
    return Comparison(diffs, [n for n in b_targets if n not in used_b], [n for n in n_targets if n not in used_n])


def _kernel_changes(base: model.Run, bt: model.TargetRun, nt: model.TargetRun) -> list[kernel_diff.Change]:
    bk, nk = kernel_diff.kernel_of(bt), kernel_diff.kernel_of(nt)
    if bk is None or nk is None or bk.release == nk.release:
        return []
    members = sorted([(bk, bt), (nk, nt)], key=lambda kt: kernel_diff.version_key(kt[0].release))
    return kernel_diff.changes(base, members)


def render(c: Comparison, limit: int = 200) -> str:
    lines = []
    for d in c.targets:
        head = (f"target {d.target}: {len(d.regressions)} regression(s), {len(d.fixes)} fix(es), "
                f"{len(d.changed)} other change(s), {len(d.new)} new, {len(d.removed)} removed test(s)")
        lines.append(head)
        for label, items in (("REGRESSION", d.regressions), ("fixed", d.fixes), ("changed", d.changed)):
            for test, was, now in items[:limit]:
                lines.append(f"  {label:<10} {test}: {was} -> {now}")
        for label, items in (("new", d.new), ("removed", d.removed)):
            for test, status in items[:limit]:
                lines.append(f"  {label:<10} {test} ({status})")
        if d.kernels:
            lines.append(f"  requirements whose verdict differs between the kernels ({len(d.kernels)}):")
            for change in d.kernels[:limit]:
                lines.append(f"    {kernel_diff.render_text(change)}")
        for name, old, new, unit, worse in d.bench:
            pct = 100 * (new - old) / old
            lines.append(f"  {'slower' if worse else 'faster':<10} {name}: {perf.fmt(old, unit)} -> {perf.fmt(new, unit)} ({pct:+.0f} %)")
    for n in c.only_base:
        lines.append(f"target {n}: only in BASE (not compared)")
    for n in c.only_new:
        lines.append(f"target {n}: only in NEW (not compared)")
    if not c.targets:
        lines.append("no target in common: nothing compared (pair targets with --pair BASE-TARGET=NEW-TARGET)")
    else:
        lines.append(f"{c.regressions} regression(s)")
    return "\n".join(lines)
