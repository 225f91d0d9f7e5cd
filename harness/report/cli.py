"""The report verbs: report, compare, merge.

The harness CLI calls register(subparsers); `python3 -m harness.report VERB ...`
runs them on their own. Every user error (a missing, corrupt or foreign file, a
bad waiver file) is one line on stderr and exit 2; compare exits 1 on regressions.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from harness.report import compare as compare_mod, document, merge as merge_mod, write_all
from harness.report.document import ReportError


def _err(msg: str) -> int:
    print(f"shmconform: {msg}", file=sys.stderr)
    return 2


def _print_outputs(paths: dict[str, pathlib.Path]) -> None:
    for name, path in paths.items():
        print(f"{name:<12} {path}")


def cmd_report(args) -> int:
    try:
        src = pathlib.Path(args.run)
        run, record = document.load(src)
        out = pathlib.Path(args.out) if args.out else (src if src.is_dir() else src.parent)
        paths = write_all(run, out, pathlib.Path(args.waivers) if args.waivers else None,
                          lcov_html=args.lcov, waiver_record=record)
    except (ReportError, OSError) as e:
        return _err(str(e) if isinstance(e, ReportError) else f"{e.filename or ''}: {e.strerror or e}")
    _print_outputs(paths)
    return 0


def cmd_compare(args) -> int:
    try:
        base, _ = document.load(pathlib.Path(args.base))
        new, _ = document.load(pathlib.Path(args.new))
    except ReportError as e:
        return _err(str(e))
    if not 0 <= args.noise < 10:
        return _err(f"--noise {args.noise}: give a fraction, e.g. 0.1 for 10 %")
    try:
        c = compare_mod.compare(base, new, noise=args.noise, pair=args.pair)
    except ReportError as e:
        return _err(str(e))
    print(compare_mod.render(c))
    if not c.targets:
        return _err("nothing compared: no target of BASE matches one of NEW by name "
                    "(pair them: --pair BASE-TARGET=NEW-TARGET)")
    if c.regressions:
        return 1
    if args.fail_on_slowdown and any(worse for d in c.targets for *_, worse in d.bench):
        return 1
    return 0


def cmd_merge(args) -> int:
    runs = []
    try:
        for path in args.runs:
            run, record = document.load(pathlib.Path(path))
            runs.append((run, record, str(path)))
        merged, record = merge_mod.merge(runs)
        paths = write_all(merged, pathlib.Path(args.out), pathlib.Path(args.waivers) if args.waivers else None,
                          waiver_record=record)
    except (ReportError, OSError) as e:
        return _err(str(e) if isinstance(e, ReportError) else f"{e.filename or ''}: {e.strerror or e}")
    print(f"merged {len(runs)} run(s), {len(merged.targets)} target(s): {', '.join(t.name for t in merged.targets)}")
    _print_outputs(paths)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="re-render a run's reports (optionally with a waiver file)",
                              description="Re-render report.json, junit.xml, report.html and summary.md of a run.")
    p.add_argument("run", metavar="RUN_DIR_OR_JSON", help="a run directory (reports/runs/<id>) or its report.json")
    p.add_argument("--waivers", metavar="FILE", help="waiver file (TOML, see reports/README.md)")
    p.add_argument("--out", metavar="DIR", help="where to write (default: next to the input)")
    p.add_argument("--lcov", metavar="PATH_OR_URL", help="lcov HTML of the suite's code, linked from report.html")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("compare", help="regressions, fixes, new and removed tests between two runs",
                              description="Compare two runs per target; exit 1 on a regression (pass -> fail), "
                                          "2 when no target could be compared.")
    p.add_argument("base", metavar="BASE", help="run directory or report.json")
    p.add_argument("new", metavar="NEW", help="run directory or report.json")
    p.add_argument("--noise", type=float, default=0.10, metavar="FRACTION",
                   help="benchmark changes below this fraction are noise (default 0.10)")
    p.add_argument("--fail-on-slowdown", action="store_true", help="also exit 1 when a benchmark got worse")
    p.add_argument("--pair", action="append", metavar="BASE-TARGET=NEW-TARGET",
                   help="compare these two targets (repeatable), e.g. --pair uml:/old/linux=uml:/new/linux; "
                        "runs of one target each are paired without it")
    p.set_defaults(func=cmd_compare)

    p = subparsers.add_parser("merge", help="one report from runs made on different machines",
                              description="Merge runs into one matrix; same-named targets become NAME@HOST.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories or report.json files")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the merged reports")
    p.add_argument("--waivers", metavar="FILE", help="waiver file applied to the merged run")
    p.set_defaults(func=cmd_merge)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness.report")
    register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
