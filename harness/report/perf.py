"""Benchmark and stress results in the shape the report charts.

Benchmarks: TargetRun.benchmarks holds Google Benchmark JSON reports
({"context": ..., "benchmarks": [...]}). Each benchmark is charted on one
metric, the first present of: bytes_per_second (as GiB/s), a user counter
"ns/<unit>" (a cost, lower is better), a user counter "<unit>/s" (a rate),
items_per_second, real_time (ns per iteration). Ratios to the physical limits
come from harness.bench_ratios.compute().

Stress: TargetRun.stress holds one entry per scenario: the harness's wrapper
{scenario, binary, exit_code, ok, result, stderr, error} around the scenario's
--json object (or that object alone). The report reads, tolerating missing keys:
  scenario, ok, ops_per_s, ops, errors, violations (messages), workers, seed, duration_s,
  latency_ns: {op: {p50, p99}} (also latency: {op: {p50_ns, p99_ns}}).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from harness import bench_ratios, model

_TIME_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


@dataclasses.dataclass
class Metric:
    name: str          # benchmark name
    family: str        # name up to the first "/"
    value: float
    unit: str          # "GiB/s", "pages/s", "items/s", "ns"
    higher_better: bool
    label: str = ""    # what the number is, e.g. "ns per page"; defaults to the unit

    @property
    def what(self) -> str:
        return self.label or self.unit


def _pick_entries(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> one entry: the median aggregate when repetitions ran, else the last iteration run."""
    entries: dict[str, dict[str, Any]] = {}
    aggregates: dict[str, dict[str, Any]] = {}
    for b in report.get("benchmarks", []) if isinstance(report, dict) else []:
        if not isinstance(b, dict) or "name" not in b:
            continue
        if b.get("error_occurred"):
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") in ("median", "mean"):
                key = str(b.get("run_name", b["name"]))
                if b.get("aggregate_name") == "median" or key not in aggregates:
                    aggregates[key] = b
            continue
        entries[str(b.get("run_name", b["name"]))] = b
    entries.update(aggregates)
    return entries


_STANDARD = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
             "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "bytes_per_second",
             "items_per_second", "label", "aggregate_name", "aggregate_unit", "error_occurred", "error_message"}


def _metric(name: str, b: dict[str, Any]) -> Metric | None:
    family = name.split("/", 1)[0]
    counters = {k: v for k, v in b.items() if k not in _STANDARD and isinstance(v, (int, float)) and not isinstance(v, bool)}
    if "bytes_per_second" in b:
        return Metric(name, family, float(b["bytes_per_second"]) / 2**30, "GiB/s", True)
    for key, value in sorted(counters.items()):
        if key.startswith("ns/"):  # a cost per unit, e.g. "ns/page"
            return Metric(name, family, float(value), "ns", False, f"ns per {key[3:]}")
    for key, value in sorted(counters.items()):
        if key.endswith("/s"):  # a rate, e.g. "pages/s"
            return Metric(name, family, float(value), key, True)
    if "items_per_second" in b:
        return Metric(name, family, float(b["items_per_second"]), "items/s", True)
    if "real_time" in b:
        scale = _TIME_NS.get(str(b.get("time_unit", "ns")), 1.0)
        return Metric(name, family, float(b["real_time"]) * scale, "ns", False, "time per operation")
    return None


def metrics(report: dict[str, Any]) -> list[Metric]:
    out = []
    for name, b in _pick_entries(report).items():
        try:
            m = _metric(name, b)
        except (TypeError, ValueError):
            continue
        if m is not None:
            out.append(m)
    return out


def target_metrics(target: model.TargetRun) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    for report in target.benchmarks:
        for m in metrics(report):
            out[m.name] = m
    return out


def ratios(target: model.TargetRun) -> list[dict[str, Any]]:
    """harness.bench_ratios.compute() over all the target's reports."""
    reports = [r for r in target.benchmarks if isinstance(r, dict) and r.get("benchmarks")]
    if not reports:
        return []
    try:
        return list(bench_ratios.compute(reports))
    except Exception as e:  # a broken ratio must not lose the whole report
        return [{"name": "ratios", "value": None, "goal": "", "met": None,
                 "explanation": f"could not compute: {type(e).__name__}: {e}"}]


@dataclasses.dataclass
class Stress:
    scenario: str
    ok: bool
    ops_per_s: float | None
    ops: int | None
    errors: int | None
    latency: dict[str, tuple[float | None, float | None]]  # op -> (p50 ns, p99 ns)
    problems: list[str]  # why it failed: the harness's error, the scenario's violation messages, stderr tail
    extra: dict[str, Any]


def _num(d: dict[str, Any], *keys: str) -> float | None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def stress(entry: dict[str, Any]) -> Stress:
    """One stress entry: the harness's wrapper {scenario, binary, exit_code, ok, result, stderr, error}
    around the scenario's --json object, or that object alone."""
    data = dict(entry.get("result") or {}) if isinstance(entry.get("result"), dict) else {}
    data.update({k: v for k, v in entry.items() if k != "result" and k not in data})
    lat_raw = data.get("latency_ns", data.get("latency", data.get("latencies", {})))
    latency: dict[str, tuple[float | None, float | None]] = {}
    if isinstance(lat_raw, list):
        lat_raw = {str(x.get("op", x.get("name", i))): x for i, x in enumerate(lat_raw) if isinstance(x, dict)}
    if isinstance(lat_raw, dict):
        for op, v in lat_raw.items():
            if isinstance(v, dict):
                latency[str(op)] = (_num(v, "p50_ns", "p50"), _num(v, "p99_ns", "p99"))
    ops = _num(data, "ops", "operations", "verified_ops")
    errors = _num(data, "errors")
    violations = data.get("violations")
    if errors is None and isinstance(violations, (int, float)):
        errors = float(violations)
    problems = []
    if data.get("error"):
        problems.append(str(data["error"]))
    if isinstance(violations, list):
        problems.extend(str(v) for v in violations)
    ok = data.get("ok")
    if not isinstance(ok, bool):
        ok = not errors and not problems
    if not ok and data.get("exit_code") not in (None, 0):
        problems.append(f"exit code {data['exit_code']}")
    if not ok and data.get("stderr"):
        problems.append(str(data["stderr"])[-2000:])
    known = {"scenario", "name", "ops_per_s", "verified_ops_per_s", "ops_per_sec", "ops", "operations",
             "verified_ops", "errors", "violations", "latency", "latency_ns", "latencies", "ok", "error", "stderr"}
    extra = {k: v for k, v in data.items() if k not in known and isinstance(v, (str, int, float, bool))}
    return Stress(str(data.get("scenario", data.get("name", "?"))), ok,
                  _num(data, "ops_per_s", "verified_ops_per_s", "ops_per_sec"),
                  int(ops) if ops is not None else None, int(errors) if errors is not None else None,
                  latency, problems, extra)


def failed_stress(target: model.TargetRun) -> list[Stress]:
    return [s for s in (stress(e) for e in target.stress if isinstance(e, dict)) if not s.ok]


def bench_errors(target: model.TargetRun) -> list[str]:
    """Benchmark binaries that produced no report (the harness records {"binary", "error", "stderr"})."""
    return [f"{r.get('binary', 'benchmark')}: {r['error']}" for r in target.benchmarks
            if isinstance(r, dict) and r.get("error")]


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit == "ns":
        for div, u in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if value >= div:
                return f"{value / div:.3g} {u}"
        return f"{value:.3g} ns"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(value) >= div:
            return f"{value / (div if div != 1e4 else 1e3):.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".strip()
