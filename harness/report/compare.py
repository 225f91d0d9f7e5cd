"""compare BASE NEW: what changed between two runs, per target.

  regression   passed (pass/xpass) in BASE, fails (fail/timeout/crash/error) in NEW  -> exit 1
  fix          failed in BASE, passes in NEW
  changed      any other status change (e.g. pass -> skip, fail -> xfail)
  new/removed  tests present in only one run
Targets are matched by name; a target in only one run is listed as such.
Benchmarks: a metric that moved by more than the noise threshold (default 10 %).
"""
from __future__ import annotations

import dataclasses

from harness import model
from harness.report import analysis, perf

PASSING = ("pass", "xpass")


@dataclasses.dataclass
class TargetDiff:
    target: str
    regressions: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (test, old, new)
    fixes: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    changed: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    new: list[tuple[str, str]] = dataclasses.field(default_factory=list)               # (test, status)
    removed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    bench: list[tuple[str, float, float, str, bool]] = dataclasses.field(default_factory=list)  # name, old, new, unit, worse


@dataclasses.dataclass
class Comparison:
    targets: list[TargetDiff]
    only_base: list[str]
    only_new: list[str]

    @property
    def regressions(self) -> int:
        return sum(len(t.regressions) for t in self.targets)


def compare(base: model.Run, new: model.Run, noise: float = 0.10) -> Comparison:
    b_targets = {t.name: t for t in base.targets}
    n_targets = {t.name: t for t in new.targets}
    diffs = []
    for name in [t.name for t in new.targets if t.name in b_targets]:
        bt, nt = b_targets[name], n_targets[name]
        d = TargetDiff(name)
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
        diffs.append(d)
    return Comparison(diffs, [n for n in b_targets if n not in n_targets], [n for n in n_targets if n not in b_targets])


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
        for name, old, new, unit, worse in d.bench:
            pct = 100 * (new - old) / old
            lines.append(f"  {'slower' if worse else 'faster':<10} {name}: {perf.fmt(old, unit)} -> {perf.fmt(new, unit)} ({pct:+.0f} %)")
    for n in c.only_base:
        lines.append(f"target {n}: only in BASE (not compared)")
    for n in c.only_new:
        lines.append(f"target {n}: only in NEW (not compared)")
    if not c.targets:
        lines.append("no target in common: nothing compared")
    lines.append(f"{c.regressions} regression(s)")
    return "\n".join(lines)
