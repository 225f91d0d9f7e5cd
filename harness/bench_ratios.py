"""The goals of the benchmarks (issue 9) as ratios, from Google Benchmark JSON.

    /usr/bin/python3 -m harness.bench_ratios bench-ipc-bandwidth.json bench-ipc-latency.json

compute() takes one Google Benchmark JSON report (a dict with "benchmarks"),
or a list of them (the bandwidth and the latency programs write one each), and
returns one dict per ratio:

    name         "ring_vs_memcpy_bandwidth/1MiB", ...
    value        the ratio (float), or None when an input is missing or failed
    goal         ">= 0.8", ">= 3", "<= 0.5"
    met          True / False, or None when the ratio could not be computed
    explanation  the inputs in units a person reads, or why the ratio is missing

Ratios, measured in one run, never asserted in a timed test:
  - shm ring bandwidth / memcpy bandwidth, for messages >= 1 MiB (goal >= 0.8)
  - shm ring bandwidth / pipe bandwidth, for messages >= 1 MiB (goal >= 3)
  - futex round trip / pipe round trip (goal <= 0.5)
and, when measured, five that explain them:
  - shm ring bandwidth / cross-core transfer bandwidth (the same ring without
    copies: what two cores can exchange), for messages >= 1 MiB (>= 0.8)
  - the streaming-store ring's bandwidth / memcpy bandwidth (>= 0.8)
  - shm ring bandwidth / bandwidth of a pipe grown to 1 MiB (>= 3)
  - spin-then-futex round trip / pipe round trip (<= 0.5)
  - futex / pipe round trip with both processes on one CPU (<= 0.5)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

RING = "ShmRingBandwidth"
MEMCPY = "Memcpy"
PIPE_BANDWIDTH = "ChannelBandwidth/pipe"
LARGE_PIPE_BANDWIDTH = "ChannelBandwidth/pipe_1mib"
CROSS_CORE = "CrossCoreTransfer"
STREAMING_RING = "ShmRingStreamingBandwidth"
FUTEX_ROUND_TRIP = "ShmPingPong/futex"
SPIN_THEN_FUTEX_ROUND_TRIP = "ShmPingPong/spin_then_futex"
PIPE_ROUND_TRIP = "ChannelPingPong/pipe"

LARGE_MESSAGE = 1 << 20

_NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Name parts Google Benchmark appends for options, not arguments.
_OPTION_PART = re.compile(r"^(real_time|process_time|manual_time|"
                          r"(min_time|min_warmup_time|iterations|repeats|threads):.*)$")


class _Result:
    """One benchmark's figures, or the error it reported."""

    def __init__(self, entry: Mapping[str, Any]):
        self.error = entry.get("error_message", "error") if entry.get("error_occurred") else ""
        real_time = _number(entry.get("real_time"))
        unit = _NS_PER_UNIT.get(entry.get("time_unit", "ns"), 1.0)
        self.real_time_ns = real_time * unit if real_time is not None else None
        self.bytes_per_second = _number(entry.get("bytes_per_second"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _key(entry: Mapping[str, Any]) -> str:
    """The benchmark's name without option suffixes: "ShmRingBandwidth/1048576"."""
    name = str(entry.get("run_name") or entry.get("name") or "")
    return "/".join(part for part in name.split("/") if not _OPTION_PART.match(part))


def _reports(report: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(report, Mapping):
        return [report]
    return [r for r in report if isinstance(r, Mapping)]


def _results(report) -> dict[str, _Result]:
    """name -> result; of repeated runs the median (else mean) aggregate wins,
    else the first successful run."""
    chosen: dict[str, tuple[int, _Result]] = {}
    for rep in _reports(report):
        entries = rep.get("benchmarks")
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            if entry.get("run_type") == "aggregate":
                rank = {"median": 0, "mean": 1}.get(entry.get("aggregate_name"))
                if rank is None:
                    continue  # stddev, cv: not a figure to compare
            else:
                rank = 2
            result = _Result(entry)
            if result.error:
                rank += 10  # a failed run counts only when nothing better exists
            key = _key(entry)
            if key not in chosen or rank < chosen[key][0]:
                chosen[key] = (rank, result)
    return {key: result for key, (_, result) in chosen.items()}


def _sizes(results: dict[str, _Result], family: str) -> set[int]:
    sizes = set()
    for key in results:
        if key.startswith(family + "/"):
            rest = key[len(family) + 1:]
            if rest.isdigit():
                sizes.add(int(rest))
    return sizes


def _size_label(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size}B"


def _gib(bytes_per_second: float) -> str:
    return f"{bytes_per_second / (1 << 30):.2f} GiB/s"


def _us(ns: float) -> str:
    return f"{ns / 1e3:.2f} µs"


def _ratio(name: str, goal: str, numerator: tuple[str, str], denominator: tuple[str, str],
           results: dict[str, _Result], figure: str, describe) -> dict[str, Any]:
    """numerator/denominator: (benchmark key, binary that produces it)."""
    op, threshold = goal.split()
    entry = {"name": name, "value": None, "goal": goal, "met": None, "explanation": ""}
    values = []
    for key, binary in (numerator, denominator):
        result = results.get(key)
        if result is None:
            entry["explanation"] = f"missing: {key} is not in the report (run {binary} with a filter that keeps it)"
            return entry
        if result.error:
            entry["explanation"] = f"missing: {key} failed: {result.error}"
            return entry
        value = getattr(result, figure)
        if not value:
            entry["explanation"] = f"missing: {key} reported no {figure}"
            return entry
        values.append(value)
    value = values[0] / values[1]
    entry["value"] = value
    entry["met"] = value >= float(threshold) if op == ">=" else value <= float(threshold)
    entry["explanation"] = (f"{numerator[0]} {describe(values[0])} / {denominator[0]} {describe(values[1])} "
                            f"= {value:.2f} ({'meets' if entry['met'] else 'misses'} the goal {goal})")
    return entry


def compute(gbench_report: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ratios of issue 9 from one Google Benchmark JSON report or a list of them."""
    results = _results(gbench_report)
    ratios: list[dict[str, Any]] = []
    bandwidth = "bench-ipc-bandwidth"
    latency = "bench-ipc-latency"

    sizes = sorted(s for s in _sizes(results, RING) | _sizes(results, MEMCPY) | _sizes(results, PIPE_BANDWIDTH)
                   if s >= LARGE_MESSAGE)
    comparisons = [(RING, MEMCPY, ">= 0.8", "ring_vs_memcpy_bandwidth"),
                   (RING, PIPE_BANDWIDTH, ">= 3", "ring_vs_pipe_bandwidth")]
    # Not goals of the issue, but explanations when the first misses: the
    # same ring moving bytes without the two copies is what two cores can
    # exchange at all (a ring near it is limited by the machine, not its
    # design); the ring variant with streaming stores is the faster design on
    # x86-64 when memory bandwidth is free.
    if _sizes(results, CROSS_CORE):
        comparisons.append((RING, CROSS_CORE, ">= 0.8", "ring_vs_cross_core_transfer"))
    if _sizes(results, STREAMING_RING):
        comparisons.append((STREAMING_RING, MEMCPY, ">= 0.8", "streaming_ring_vs_memcpy_bandwidth"))
    # And against a pipe grown to 1 MiB (F_SETPIPE_SZ), the best a pipe does.
    if _sizes(results, LARGE_PIPE_BANDWIDTH):
        comparisons.append((RING, LARGE_PIPE_BANDWIDTH, ">= 3", "ring_vs_1mib_pipe_bandwidth"))
    for ring, other, goal, title in comparisons:
        if not sizes:
            ratios.append({
                "name": title, "value": None, "goal": goal, "met": None,
                "explanation": f"missing: no {ring} or {other} result for messages >= 1 MiB "
                               f"(run {bandwidth} with a filter that keeps them)"})
            continue
        for size in sizes:
            ratios.append(_ratio(f"{title}/{_size_label(size)}", goal, (f"{ring}/{size}", bandwidth),
                                 (f"{other}/{size}", bandwidth), results, "bytes_per_second", _gib))

    ratios.append(_ratio("futex_vs_pipe_round_trip", "<= 0.5", (FUTEX_ROUND_TRIP, latency),
                         (PIPE_ROUND_TRIP, latency), results, "real_time_ns", _us))
    # The same goal, when measured, for the futex used the way a shared-memory
    # channel would (spin briefly, sleep only when the peer is slow), and for
    # both processes pinned to one CPU (the mechanisms without the scheduler's
    # placement: a pipe's sync wake-up keeps its ends on one CPU, a futex's not).
    for name, numerator, denominator in (
            ("spin_then_futex_vs_pipe_round_trip", SPIN_THEN_FUTEX_ROUND_TRIP, PIPE_ROUND_TRIP),
            ("futex_vs_pipe_round_trip_one_cpu", FUTEX_ROUND_TRIP + "_one_cpu", PIPE_ROUND_TRIP + "_one_cpu")):
        if numerator in results:
            ratios.append(_ratio(name, "<= 0.5", (numerator, latency), (denominator, latency), results,
                                 "real_time_ns", _us))
    return ratios


def format_table(ratios: list[dict[str, Any]]) -> str:
    lines = []
    for r in ratios:
        value = "-" if r["value"] is None else f"{r['value']:.2f}"
        verdict = {True: "met", False: "NOT MET", None: "n/a"}[r["met"]]
        lines.append(f"{r['name']:<40} {value:>6}  goal {r['goal']:<7} {verdict:<8} {r['explanation']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.bench_ratios",
                                     description="Issue 9's benchmark goals as ratios, from Google Benchmark JSON.")
    parser.add_argument("files", nargs="+", help="JSON written with --benchmark_format=json or --benchmark_out")
    parser.add_argument("--json", action="store_true", help="print the ratios as JSON")
    args = parser.parse_args(argv)
    reports = []
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as f:
                reports.append(json.load(f))
        except (OSError, json.JSONDecodeError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 2
    ratios = compute(reports)
    print(json.dumps(ratios, indent=2) if args.json else format_table(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
