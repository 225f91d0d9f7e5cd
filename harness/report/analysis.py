"""What a run means: verdicts per target and profile, the requirement matrix,
differences between targets, requirement coverage. Pure functions over
model.Run; every renderer (HTML, Markdown, JUnit) uses them, so they agree.
"""
from __future__ import annotations

import dataclasses
import fnmatch
from typing import Iterable

from harness import model
from harness.report import perf

# A status that makes a target's verdict "fail". xpass is a stale waiver:
# the waiver file is wrong and must be fixed, so it fails the gate too.
BAD = ("fail", "timeout", "crash", "error")
FAILING = BAD + ("xpass",)
# Worst first: the status a cell shows when it aggregates several tests.
RANK = ("crash", "timeout", "error", "fail", "xpass", "xfail", "pass", "skip")
UNTAGGED = "(no requirement)"


def worst(statuses: Iterable[str]) -> str:
    present = set(statuses)
    for status in RANK:
        if status in present:
            return status
    return ""


def outcome_class(status: str) -> str:
    """pass / fail / skip: what a difference between targets is about."""
    if status in ("pass", "xpass"):
        return "pass"
    if status in BAD or status == "xfail":
        return "fail"
    return "skip" if status == "skip" else ""


def area_of(run: model.Run, rid: str) -> str:
    req = run.requirements.get(rid)
    if req and req.get("area"):
        return str(req["area"])
    if rid == UNTAGGED:
        return "untagged"
    return rid.split(".", 1)[0].lower()


def profile_of(run: model.Run, rid: str) -> str:
    req = run.requirements.get(rid)
    return str(req.get("profile", "unknown")) if req else "unknown"


def target_label(target: model.TargetRun) -> str:
    """"qemu-user:armhf (6.18.0, armv7l)": the name plus what identifies the kernel."""
    env = target.environment or {}
    bits = [str(env[k]) for k in ("kernel_release", "arch") if env.get(k)]
    return f"{target.name} ({', '.join(bits)})" if bits else target.name


# What a "variant" property names: the call path a result came from (README.md, the raw and
# libc-time64 mechanisms).
_VARIANTS = {"libc": "C library call", "libc-time64": "C library time64 call", "raw": "raw system call"}
SHORT_PROPERTY = 60  # longer property values are left to report.json


def property_text(key: str, value: str) -> str:
    """One RecordProperty() value in words: "variant: raw system call", "namespace mode: direct"."""
    if key == "variant":
        paths = [_VARIANTS.get(v, v) for v in value.split(",")]
        value = paths[0] if len(paths) == 1 else " and ".join(paths) + " (compared)"
    return f"{key.replace('_', ' ')}: {value}"


def properties_texts(properties: dict[str, str]) -> list[str]:
    """The short properties of a result in words, the variant first."""
    keys = sorted(properties, key=lambda k: (k != "variant", k))
    return [property_text(k, properties[k]) for k in keys if len(properties[k]) <= SHORT_PROPERTY]


def shared_properties(results: Iterable[model.TestResult]) -> dict[str, str]:
    """The properties every one of the results recorded with the same value."""
    results = list(results)
    if not results:
        return {}
    return {k: v for k, v in results[0].properties.items() if all(r.properties.get(k) == v for r in results[1:])}


@dataclasses.dataclass
class Verdict:
    verdict: str            # "pass", "fail", "broken", "none" (nothing ran)
    counts: dict[str, int]
    reasons: list[str]      # why it failed, short

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def verdict_of(results: list[model.TestResult], target: model.TargetRun | None = None) -> Verdict:
    counts = {s: 0 for s in model.STATUSES}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    reasons = []
    if target is not None and target.status == "broken":
        return Verdict("broken", counts, [target.error or "target could not run"])
    failing = sum(counts.get(s, 0) for s in BAD)
    if failing:
        reasons.append(f"{failing} failing")
    if counts.get("xpass"):
        reasons.append(f"{counts['xpass']} stale waiver(s)")
    if target is not None and target.leftovers:
        reasons.append(f"{len(target.leftovers)} IPC object(s) left behind")
    if target is not None and perf.failed_stress(target):
        reasons.append(f"{len(perf.failed_stress(target))} stress scenario(s) failed")
    if reasons:
        return Verdict("fail", counts, reasons)
    if not results:
        return Verdict("none", counts, ["no test ran"])
    if counts.get("pass", 0) + counts.get("xfail", 0) == 0:
        return Verdict("none", counts, ["every test skipped"])
    return Verdict("pass", counts, [])


def target_verdict(target: model.TargetRun) -> Verdict:
    return verdict_of(target.results, target)


def profile_verdicts(run: model.Run, target: model.TargetRun) -> dict[str, Verdict]:
    """posix / linux: the verdict over the tests whose requirements have that profile."""
    out = {}
    for profile in ("posix", "linux"):
        results = [r for r in target.results if any(profile_of(run, rid) == profile for rid in r.requirements)]
        out[profile] = verdict_of(results, target if target.status == "broken" else None)
    return out


def run_verdict(run: model.Run) -> str:
    verdicts = [target_verdict(t).verdict for t in run.targets]
    if not verdicts:
        return "none"
    if "broken" in verdicts or "fail" in verdicts:
        return "fail"
    return "pass" if "pass" in verdicts else "none"


@dataclasses.dataclass
class Row:
    """One requirement (or the untagged tests) across all targets."""
    rid: str
    area: str
    profile: str
    statement: str
    sources: list[str]
    # target name -> results of the tests naming this requirement on that target
    cells: dict[str, list[model.TestResult]]
    tests: list[str]  # test ids, sorted

    def status(self, target: str) -> str:
        return worst(r.status for r in self.cells.get(target, []))

    def differs(self) -> bool:
        classes = {outcome_class(self.status(t)) for t in self.cells}
        return "pass" in classes and "fail" in classes

    def failing(self) -> bool:
        return any(r.status in FAILING for rs in self.cells.values() for r in rs)


def matrix(run: model.Run) -> list[Row]:
    """Every catalogued requirement (tested or not) and every requirement a
    result names, sorted by area then id; tests naming none come last."""
    names = [t.name for t in run.targets]
    rows: dict[str, Row] = {}

    def row(rid: str) -> Row:
        if rid not in rows:
            req = run.requirements.get(rid, {})
            rows[rid] = Row(rid, area_of(run, rid), profile_of(run, rid), str(req.get("statement", "")),
                            [str(s) for s in req.get("sources", [])], {n: [] for n in names}, [])
        return rows[rid]

    for rid in run.requirements:
        row(rid)
    tests: dict[str, set[str]] = {}
    for target in run.targets:
        for r in target.results:
            for rid in r.requirements or [UNTAGGED]:
                row(rid).cells.setdefault(target.name, []).append(r)
                tests.setdefault(rid, set()).add(r.test_id)
    for rid, ids in tests.items():
        rows[rid].tests = sorted(ids)
    return sorted(rows.values(), key=lambda r: (r.rid == UNTAGGED, r.area, r.rid))


def _describe(run: model.Run, names: list[str], labels: bool = True) -> str:
    if not labels:
        return ", ".join(names)
    by_name = {t.name: t for t in run.targets}
    return ", ".join(target_label(by_name[n]) if n in by_name else n for n in names)


def difference_text(run: model.Run, statuses: dict[str, str], labels: bool = True) -> str:
    """"passes on local (6.18.0, x86_64); fails on qemu-user:armhf (6.18.0, armv7l): timeout"."""
    passing = [t for t, s in statuses.items() if outcome_class(s) == "pass"]
    failing = [t for t, s in statuses.items() if outcome_class(s) == "fail"]
    skipped = [t for t, s in statuses.items() if outcome_class(s) == "skip"]
    parts = []
    if failing:
        kinds = sorted({statuses[t] for t in failing})
        parts.append("fails on " + _describe(run, failing, labels) + (f" ({', '.join(kinds)})" if kinds != ["fail"] else ""))
    if passing:
        parts.append("passes on " + _describe(run, passing, labels))
    if skipped:
        parts.append("skipped on " + _describe(run, skipped, labels))
    return "; ".join(parts)


@dataclasses.dataclass
class Failure:
    """One test that failed somewhere, with its result on every target."""
    test_id: str
    requirements: list[str]
    results: dict[str, model.TestResult]  # target -> result

    def statuses(self) -> dict[str, str]:
        return {t: r.status for t, r in self.results.items()}

    def failing_targets(self) -> list[str]:
        return [t for t, r in self.results.items() if r.status in FAILING]


def failures(run: model.Run, statuses: tuple[str, ...] = FAILING) -> list[Failure]:
    by_test: dict[str, Failure] = {}
    for target in run.targets:
        for r in target.results:
            f = by_test.setdefault(r.test_id, Failure(r.test_id, list(r.requirements), {}))
            f.results[target.name] = r
    out = [f for f in by_test.values() if any(r.status in statuses for r in f.results.values())]
    return sorted(out, key=lambda f: (f.requirements[:1] or [UNTAGGED], f.test_id))


@dataclasses.dataclass
class AreaCoverage:
    area: str
    requirements: list[str]
    untested: list[str]  # catalogued, but no result names them


def coverage(run: model.Run) -> list[AreaCoverage]:
    named = {rid for t in run.targets for r in t.results for rid in r.requirements}
    areas: dict[str, AreaCoverage] = {}
    for rid in sorted(run.requirements):
        a = areas.setdefault(area_of(run, rid), AreaCoverage(area_of(run, rid), [], []))
        a.requirements.append(rid)
        if rid not in named:
            a.untested.append(rid)
    return sorted(areas.values(), key=lambda a: a.area)


def unknown_requirements(run: model.Run) -> list[str]:
    """Ids that tests name but the run's catalog does not hold."""
    if not run.requirements:
        return []
    named = {rid for t in run.targets for r in t.results for rid in r.requirements}
    return sorted(named - set(run.requirements))


def glob_any(pattern: str, values: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(v, pattern) for v in values)
