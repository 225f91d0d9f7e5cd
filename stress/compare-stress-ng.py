#!/usr/bin/python3
"""Side by side with stress-ng: runs each stress-ng stressor and our comparable
scenario with the same duration and worker count, one after the other, and
prints our verified ops/s divided by stress-ng's bogo ops/s (real time).

Usage: stress/compare-stress-ng.py [--duration=10] [--workers=N] [--build=build/ci] [--json=out.json]
Goal: ratio >= 1.0 on every pair (measured, never asserted in a test).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]

# stress-ng stressor -> our scenario, and what one of our operations is.
PAIRS = [
    ("shm-sysv", "sysv-churn", "one shmget/shmat/shmdt/shmctl step checked against the model"),
    ("shm", "posix-churn", "one shm_open/ftruncate/mmap/unlink step checked against the model"),
    ("mmap", "mapping-churn", "one map/unmap/MAP_FIXED/mprotect/mremap/madvise/fork step with its pages verified"),
    ("mmapfork", "fork-storm", "one fork/exec/exit step with shm_nattch and data verified"),
    ("msync", "msync-truncate", "one page write/verify/msync+pread/pwrite/ftruncate step, SIGBUS checked"),
]


def run_stress_ng(stressor: str, workers: int, duration: float, workdir: pathlib.Path) -> float:
    out = workdir / f"{stressor}.yaml"
    cmd = ["stress-ng", f"--{stressor}", str(workers), "--timeout", f"{duration:g}s", "--metrics", "--yaml", str(out),
           "--temp-path", str(workdir)]
    # Its own session, so a stressor that overstays (mmapfork's children can)
    # is killed as a group.
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        proc.wait(timeout=duration * 10 + 120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"stress-ng --{stressor} overran its {duration:g} s timeout; killed")
    doc = yaml.safe_load(out.read_text())
    for entry in doc.get("metrics", []):
        if entry.get("stressor") == stressor:
            return float(entry["bogo-ops-per-second-real-time"])
    raise RuntimeError(f"stress-ng wrote no metrics for {stressor}: {out.read_text()[:500]}")


def run_ours(build: pathlib.Path, scenario: str, workers: int, duration: float, seed: int) -> dict:
    binary = build / "stress" / f"stress-{scenario}"
    proc = subprocess.run([str(binary), f"--duration={duration:g}", f"--workers={workers}", f"--seed={seed}", "--json"],
                          capture_output=True, text=True, timeout=duration * 3 + 60, check=False)
    result = json.loads(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"stress-{scenario} exited {proc.returncode}: {result.get('violations')}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--build", type=pathlib.Path, default=ROOT / "build" / "ci")
    ap.add_argument("--only", action="append", help="stress-ng stressor(s) to compare (default: all pairs)")
    ap.add_argument("--json", type=pathlib.Path, help="also write the results here")
    args = ap.parse_args()
    if args.duration <= 0 or args.workers < 1:
        print("compare-stress-ng: --duration must be > 0 and --workers >= 1", file=sys.stderr)
        return 2
    if not shutil.which("stress-ng"):
        print("compare-stress-ng: stress-ng is not installed (apt-get install stress-ng)", file=sys.stderr)
        return 2
    version = subprocess.run(["stress-ng", "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    print(f"{version}; {args.workers} workers, {args.duration:g} s each, one after the other")
    print(f"{'stress-ng':<10} {'bogo ops/s':>12}   {'shmconform':<16} {'verified ops/s':>15}   {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="shmconform-compare.") as tmp:
        for stressor, scenario, unit in PAIRS:
            if args.only and stressor not in args.only:
                continue
            try:
                theirs = run_stress_ng(stressor, args.workers, args.duration, pathlib.Path(tmp))
                ours = run_ours(args.build, scenario, args.workers, args.duration, args.seed)
            except (RuntimeError, OSError, ValueError, KeyError) as err:
                print(f"{stressor:<10} {'-':>12}   {scenario:<16} {'-':>15}   error: {err}", flush=True)
                rows.append({"stress_ng": stressor, "scenario": scenario, "error": str(err)})
                continue
            ratio = ours["ops_per_s"] / theirs if theirs > 0 else None
            rows.append({"stress_ng": stressor, "bogo_ops_per_s": theirs, "scenario": scenario,
                         "verified_ops_per_s": ours["ops_per_s"], "ratio": ratio, "our_op": unit})
            shown = f"{ratio:>7.2f}" if theirs > 0 else "    n/a  (stress-ng finished no bogo op)"
            print(f"{stressor:<10} {theirs:>12.2f}   {scenario:<16} {ours['ops_per_s']:>15.1f}   {shown}"
                  f"{'' if ratio is None or ratio >= 1.0 else '  (below goal 1.0)'}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"stress_ng": version, "workers": args.workers, "duration_s": args.duration,
                                         "pairs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
