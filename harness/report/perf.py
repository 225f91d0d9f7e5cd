"""Benchmark and stress results in the shape the report charts.

Benchmarks: TargetRun.benchmarks holds Google Benchmark JSON reports
({"context": ..., "benchmarks": [...]}). Each benchmark is charted on one
metric, the first present of: bytes_per_second (as GiB/s), a user counter
"ns/<unit>" (a cost, lower is better), a user counter "<unit>/s" (a rate),
items_per_second, real_time (ns per iteration). Ratios to the physical limits
come from harness.bench_ratios.compute() when that module exists.

Stress: TargetRun.stress holds one dict per scenario as the stress binaries
print with --json. The report reads, tolerating missing keys:
  scenario|name, ops_per_s|verified_ops_per_s|ops_per_sec, ops|operations,
  errors|violations, workers, seed, duration_s,
  latency|latencies: {op: {p50_ns, p99_ns}} (or p50/p99 in ns, or a list of {op, p50_ns, p99_ns}).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from harness import model

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


def ratios(target: model.TargetRun) -> list[dict[str, Any]] | None:
    """harness.bench_ratios.compute() over the target's reports; None when that module is absent."""
    try:
        from harness import bench_ratios  # provided by the benchmarks work; optional
    except ImportError:
        return None
    out: list[dict[str, Any]] = []
    for report in target.benchmarks:
        try:
            out.extend(bench_ratios.compute(report))
        except Exception as e:  # a broken ratio must not lose the whole report
            out.append({"name": "ratios", "value": None, "goal": "", "met": False,
                        "explanation": f"could not compute: {type(e).__name__}: {e}"})
    return out


@dataclasses.dataclass
class Stress:
    scenario: str
    ops_per_s: float | None
    ops: int | None
    errors: int | None
    latency: dict[str, tuple[float | None, float | None]]  # op -> (p50 ns, p99 ns)
    extra: dict[str, Any]


def _num(d: dict[str, Any], *keys: str) -> float | None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def stress(entry: dict[str, Any]) -> Stress:
    lat_raw = entry.get("latency", entry.get("latencies", {}))
    latency: dict[str, tuple[float | None, float | None]] = {}
    if isinstance(lat_raw, list):
        lat_raw = {str(x.get("op", x.get("name", i))): x for i, x in enumerate(lat_raw) if isinstance(x, dict)}
    if isinstance(lat_raw, dict):
        for op, v in lat_raw.items():
            if isinstance(v, dict):
                latency[str(op)] = (_num(v, "p50_ns", "p50"), _num(v, "p99_ns", "p99"))
    ops = _num(entry, "ops", "operations", "verified_ops")
    errors = _num(entry, "errors", "violations")
    known = {"scenario", "name", "ops_per_s", "verified_ops_per_s", "ops_per_sec", "ops", "operations",
             "verified_ops", "errors", "violations", "latency", "latencies"}
    extra = {k: v for k, v in entry.items() if k not in known and isinstance(v, (str, int, float, bool))}
    return Stress(str(entry.get("scenario", entry.get("name", "?"))),
                  _num(entry, "ops_per_s", "verified_ops_per_s", "ops_per_sec"),
                  int(ops) if ops is not None else None, int(errors) if errors is not None else None,
                  latency, extra)


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
