"""Command line verbs. Every user error is one line on stderr and exit 2."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys

from harness import catalog

ROOT = pathlib.Path(__file__).resolve().parent.parent


class UsageError(Exception):
    pass


def _run_local(build_dir: pathlib.Path, out_dir: pathlib.Path) -> dict[str, dict]:
    binaries = sorted(p for p in (build_dir / "conformance").glob("conformance-*") if os.access(p, os.X_OK))
    if not binaries:
        raise UsageError(f"no conformance binaries under {build_dir / 'conformance'}: build first")
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = {}
    for binary in binaries:
        path = out_dir / f"{binary.name}.json"
        subprocess.run([str(binary), f"--gtest_output=json:{path}"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        reports[binary.name] = json.loads(path.read_text()) if path.exists() else {}
    return reports


def _summarise(reports: dict[str, dict]) -> tuple[str, int]:
    lines, failed_total = [], 0
    for binary, report in reports.items():
        passed = failed = skipped = 0
        failures = []
        for suite in report.get("testsuites", []):
            for case in suite.get("testsuite", []):
                if case.get("failures"):
                    failed += 1
                    failures.append(f"    FAIL {case['classname']}.{case['name']}  [{case.get('requirements', '')}]")
                elif case.get("result") == "SKIPPED":
                    skipped += 1
                else:
                    passed += 1
        failed_total += failed
        lines.append(f"  {binary:<24} {passed:4} passed {failed:4} failed {skipped:4} skipped")
        lines.extend(failures)
    return "\n".join(lines), failed_total


def cmd_run(args) -> int:
    run_id = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    runs = ROOT / "reports" / "runs"
    out = runs / run_id / "local"
    reports = _run_local(pathlib.Path(args.build_dir), out)
    latest = runs / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_id)
    text, failed = _summarise(reports)
    print(f"shmconform: target local ({os.uname().release})")
    print(text)
    print(f"results: {out}")
    return 1 if failed else 0


def cmd_list(args) -> int:
    if args.what == "requirements":
        for req in catalog.load().values():
            print(f"{req.id:<40} {req.profile:<6} {req.statement}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="shmconform")
    sub = parser.add_subparsers(dest="verb", required=True)
    run = sub.add_parser("run", help="run the suite and write results")
    run.add_argument("--build-dir", default=str(ROOT / "build" / "default"))
    lst = sub.add_parser("list", help="list requirements")
    lst.add_argument("what", choices=["requirements"])
    args = parser.parse_args(argv)
    try:
        return {"run": cmd_run, "list": cmd_list}[args.verb](args)
    except (UsageError, catalog.CatalogError) as e:
        print(f"shmconform: {e}", file=sys.stderr)
        return 2
