"""harness.bench_ratios: issue 9's goals computed from Google Benchmark JSON.

Synthetic reports only (no timing is ever asserted), plus one check that the
real bench binaries produce the names the module looks for.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from harness import bench_ratios
from harness.tests.conftest import build_dir

MIB = 1 << 20
GIB = 1 << 30


def entry(name, real_time=None, bytes_per_second=None, time_unit="ns", **extra):
    e = {"name": name, "run_name": name, "run_type": "iteration", "iterations": 100,
         "real_time": real_time if real_time is not None else 1000.0, "cpu_time": 900.0, "time_unit": time_unit}
    if bytes_per_second is not None:
        e["bytes_per_second"] = bytes_per_second
    e.update(extra)
    return e


def report(*entries):
    return {"context": {"executable": "bench-ipc"}, "benchmarks": list(entries)}


def bandwidth_report(ring, memcpy, pipe, size=MIB):
    return report(entry(f"ShmRingBandwidth/{size}/real_time", bytes_per_second=ring),
                  entry(f"Memcpy/{size}/real_time", bytes_per_second=memcpy),
                  entry(f"ChannelBandwidth/pipe/{size}/real_time", bytes_per_second=pipe))


def latency_report(futex_ns, pipe_ns):
    return report(entry("ShmPingPong/futex/real_time", real_time=futex_ns),
                  entry("ChannelPingPong/pipe/real_time", real_time=pipe_ns))


def by_name(ratios):
    return {r["name"]: r for r in ratios}


def test_every_ratio_has_the_documented_keys():
    ratios = bench_ratios.compute([bandwidth_report(9 * GIB, 10 * GIB, 2 * GIB), latency_report(3000, 10000)])
    assert ratios
    for r in ratios:
        assert set(r) >= {"name", "value", "goal", "met", "explanation"}


def test_goals_met():
    ratios = by_name(bench_ratios.compute(
        [bandwidth_report(9 * GIB, 10 * GIB, 2 * GIB), latency_report(3000, 10000)]))
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["value"] == pytest.approx(0.9)
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["goal"] == ">= 0.8"
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["met"] is True
    assert ratios["ring_vs_pipe_bandwidth/1MiB"]["value"] == pytest.approx(4.5)
    assert ratios["ring_vs_pipe_bandwidth/1MiB"]["met"] is True
    assert ratios["futex_vs_pipe_round_trip"]["value"] == pytest.approx(0.3)
    assert ratios["futex_vs_pipe_round_trip"]["goal"] == "<= 0.5"
    assert ratios["futex_vs_pipe_round_trip"]["met"] is True
    assert "9.00 GiB/s" in ratios["ring_vs_memcpy_bandwidth/1MiB"]["explanation"]
    assert "3.00 µs" in ratios["futex_vs_pipe_round_trip"]["explanation"]


def test_goals_not_met():
    ratios = by_name(bench_ratios.compute(
        [bandwidth_report(7 * GIB, 10 * GIB, 3 * GIB), latency_report(6000, 10000)]))
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["value"] == pytest.approx(0.7)
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["met"] is False
    assert ratios["ring_vs_pipe_bandwidth/1MiB"]["met"] is False
    assert ratios["futex_vs_pipe_round_trip"]["value"] == pytest.approx(0.6)
    assert ratios["futex_vs_pipe_round_trip"]["met"] is False
    assert "misses the goal" in ratios["futex_vs_pipe_round_trip"]["explanation"]


def test_goal_boundaries_count_as_met():
    ratios = by_name(bench_ratios.compute(
        [bandwidth_report(8 * GIB, 10 * GIB, 8 * GIB / 3), latency_report(5000, 10000)]))
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["met"] is True
    assert ratios["ring_vs_pipe_bandwidth/1MiB"]["met"] is True
    assert ratios["futex_vs_pipe_round_trip"]["met"] is True


def test_one_bandwidth_ratio_per_large_message_size_and_none_for_small_ones():
    big = bandwidth_report(9 * GIB, 10 * GIB, 2 * GIB, size=4 * MIB)
    small = bandwidth_report(1 * GIB, 10 * GIB, 2 * GIB, size=64 * 1024)
    one = bandwidth_report(9 * GIB, 10 * GIB, 2 * GIB, size=MIB)
    names = [r["name"] for r in bench_ratios.compute([small, big, one])]
    assert [n for n in names if n.startswith("ring_vs_memcpy")] == [
        "ring_vs_memcpy_bandwidth/1MiB", "ring_vs_memcpy_bandwidth/4MiB"]


@pytest.mark.parametrize("data", [{}, {"benchmarks": None}, {"benchmarks": [None, 3, {}]}, [], [{}, "junk"]])
def test_missing_benchmarks_are_explained_not_a_crash(data):
    ratios = by_name(bench_ratios.compute(data))
    for name in ("ring_vs_memcpy_bandwidth", "ring_vs_pipe_bandwidth", "futex_vs_pipe_round_trip"):
        assert ratios[name]["value"] is None
        assert ratios[name]["met"] is None
        assert ratios[name]["explanation"].startswith("missing:")
    assert "bench-ipc-bandwidth" in ratios["ring_vs_memcpy_bandwidth"]["explanation"]
    assert "ShmPingPong/futex is not in the report" in ratios["futex_vs_pipe_round_trip"]["explanation"]


def test_one_missing_side_names_it():
    partial = report(entry(f"ShmRingBandwidth/{MIB}/real_time", bytes_per_second=GIB),
                     entry("ShmPingPong/futex/real_time", real_time=3000))
    ratios = by_name(bench_ratios.compute(partial))
    assert ratios["ring_vs_memcpy_bandwidth/1MiB"]["value"] is None
    assert f"Memcpy/{MIB} is not in the report" in ratios["ring_vs_memcpy_bandwidth/1MiB"]["explanation"]
    assert "ChannelPingPong/pipe is not in the report" in ratios["futex_vs_pipe_round_trip"]["explanation"]


def test_a_failed_benchmark_gives_its_error():
    failed = report(entry("ShmPingPong/futex/real_time", error_occurred=True,
                          error_message="no pong: peer process: exited with 99"),
                    entry("ChannelPingPong/pipe/real_time", real_time=10000))
    ratio = by_name(bench_ratios.compute(failed))["futex_vs_pipe_round_trip"]
    assert ratio["value"] is None and ratio["met"] is None
    assert "ShmPingPong/futex failed: no pong: peer process: exited with 99" in ratio["explanation"]


def test_time_units_are_converted():
    ratios = by_name(bench_ratios.compute(report(
        entry("ShmPingPong/futex/real_time", real_time=3.0, time_unit="us"),
        entry("ChannelPingPong/pipe/real_time", real_time=0.01, time_unit="ms"))))
    assert ratios["futex_vs_pipe_round_trip"]["value"] == pytest.approx(0.3)


def test_median_of_repetitions_wins_over_single_runs():
    runs = [entry("ShmPingPong/futex/repeats:3", real_time=t, repetitions=3) for t in (1000, 9000, 3000)]
    aggregates = [
        entry("ShmPingPong/futex/repeats:3_mean", run_name="ShmPingPong/futex/repeats:3", run_type="aggregate",
              aggregate_name="mean", real_time=4333),
        entry("ShmPingPong/futex/repeats:3_median", run_name="ShmPingPong/futex/repeats:3", run_type="aggregate",
              aggregate_name="median", real_time=3000),
        entry("ShmPingPong/futex/repeats:3_stddev", run_name="ShmPingPong/futex/repeats:3", run_type="aggregate",
              aggregate_name="stddev", real_time=4163),
    ]
    ratios = by_name(bench_ratios.compute(report(*runs, *aggregates,
                                                 entry("ChannelPingPong/pipe", real_time=10000))))
    assert ratios["futex_vs_pipe_round_trip"]["value"] == pytest.approx(0.3)


def test_cross_core_ratio_is_reported_only_when_measured():
    plain = by_name(bench_ratios.compute(bandwidth_report(6 * GIB, 10 * GIB, 2 * GIB)))
    assert not any(name.startswith("ring_vs_cross_core") for name in plain)
    data = bandwidth_report(6 * GIB, 10 * GIB, 2 * GIB)
    data["benchmarks"].append(entry(f"CrossCoreTransfer/{MIB}/real_time", bytes_per_second=6.5 * GIB))
    ratio = by_name(bench_ratios.compute(data))["ring_vs_cross_core_transfer/1MiB"]
    assert ratio["value"] == pytest.approx(6 / 6.5)
    assert ratio["met"] is True


def test_streaming_ring_ratio_is_reported_when_measured():
    data = bandwidth_report(6 * GIB, 10 * GIB, 2 * GIB)
    data["benchmarks"].append(entry(f"ShmRingStreamingBandwidth/{MIB}/real_time", bytes_per_second=8.5 * GIB))
    ratio = by_name(bench_ratios.compute(data))["streaming_ring_vs_memcpy_bandwidth/1MiB"]
    assert ratio["value"] == pytest.approx(0.85)
    assert ratio["met"] is True
    assert "ShmRingStreamingBandwidth/1048576 8.50 GiB/s" in ratio["explanation"]


def test_large_pipe_ratio_is_reported_when_measured():
    data = bandwidth_report(6 * GIB, 10 * GIB, 1 * GIB)
    data["benchmarks"].append(entry(f"ChannelBandwidth/pipe_1mib/{MIB}/real_time", bytes_per_second=2.5 * GIB))
    ratios = by_name(bench_ratios.compute(data))
    assert ratios["ring_vs_pipe_bandwidth/1MiB"]["value"] == pytest.approx(6)
    assert ratios["ring_vs_1mib_pipe_bandwidth/1MiB"]["value"] == pytest.approx(2.4)
    assert ratios["ring_vs_1mib_pipe_bandwidth/1MiB"]["met"] is False


def test_spin_then_futex_ratio_is_reported_when_measured():
    data = report(entry("ShmPingPong/spin_then_futex/real_time", real_time=400),
                  entry("ChannelPingPong/pipe/real_time", real_time=10000))
    ratio = by_name(bench_ratios.compute(data))["spin_then_futex_vs_pipe_round_trip"]
    assert ratio["value"] == pytest.approx(0.04)
    assert ratio["met"] is True


def test_one_cpu_ratio_is_reported_when_measured():
    data = report(entry("ShmPingPong/futex_one_cpu/real_time", real_time=9000),
                  entry("ChannelPingPong/pipe_one_cpu/real_time", real_time=10000))
    ratios = by_name(bench_ratios.compute(data))
    assert ratios["futex_vs_pipe_round_trip_one_cpu"]["value"] == pytest.approx(0.9)
    assert ratios["futex_vs_pipe_round_trip_one_cpu"]["met"] is False
    assert "spin_then_futex_vs_pipe_round_trip" not in ratios


def test_main_prints_a_table_and_json(tmp_path, capsys):
    bw, lat = tmp_path / "bw.json", tmp_path / "lat.json"
    bw.write_text(json.dumps(bandwidth_report(9 * GIB, 10 * GIB, 2 * GIB)))
    lat.write_text(json.dumps(latency_report(6000, 10000)))
    assert bench_ratios.main([str(bw), str(lat)]) == 0
    table = capsys.readouterr().out
    assert "ring_vs_memcpy_bandwidth/1MiB" in table and "NOT MET" in table
    assert bench_ratios.main(["--json", str(bw), str(lat)]) == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} >= {"futex_vs_pipe_round_trip"}


def test_main_rejects_an_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert bench_ratios.main([str(bad)]) == 2
    assert "bad.json" in capsys.readouterr().err


def _bench_binary(name):
    path = build_dir() / "bench" / name
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} not built (the preset builds no benchmarks)")
    return path


def test_real_bench_binaries_produce_the_names_the_ratios_need(tmp_path):
    """The C++ names and the Python module agree: every ratio gets a value."""
    reports = []
    for binary, regex in (("bench-ipc-bandwidth", f"/{MIB}/"), ("bench-ipc-latency", "/(futex|spin_then_futex|pipe)(_one_cpu)?/")):
        out = tmp_path / f"{binary}.json"
        subprocess.run([str(_bench_binary(binary)), "--benchmark_min_time=0.001", f"--benchmark_filter={regex}",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True)
        reports.append(json.loads(out.read_text()))
    ratios = by_name(bench_ratios.compute(reports))
    for name in ("ring_vs_memcpy_bandwidth/1MiB", "ring_vs_pipe_bandwidth/1MiB", "ring_vs_cross_core_transfer/1MiB",
                 "futex_vs_pipe_round_trip", "spin_then_futex_vs_pipe_round_trip",
                 "futex_vs_pipe_round_trip_one_cpu"):
        assert ratios[name]["value"] is not None, ratios[name]["explanation"]
