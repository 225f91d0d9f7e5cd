"""Command line verbs: run, list (+ report, compare, merge from harness.report).
Every user error is one line on stderr and a non-zero exit, never a traceback."""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import shlex
import shutil
import signal
import sys
import threading
import time
import uuid

from harness import catalog, engine, matrices, model, proof, report, targets, testlist
from harness.report import cli as report_cli
from harness.report import waivers as waiver_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_TARGETS = ["local", "uml"]
VERSION = "0.1"


class UsageError(Exception):
    pass


def cache_dir() -> pathlib.Path:
    env = os.environ.get("SHMCONFORM_CACHE")
    if env:
        return pathlib.Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "shmconform"


def host_info() -> dict:
    u = os.uname()
    return {"hostname": u.nodename, "kernel_release": u.release, "arch": u.machine, "cpus": os.cpu_count(),
            "python": sys.version.split()[0]}


def write_run(run: model.Run, out_dir: pathlib.Path, waivers: pathlib.Path | None) -> pathlib.Path:
    """The report files of run in out_dir; the main file's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        files = report.write_all(run, out_dir, waivers)
    except report.ReportError:
        # Keep the results before saying what went wrong.
        (out_dir / "report.json").write_text(json.dumps(run.to_dict(), indent=1))
        raise
    return pathlib.Path(files["report.html"])


def _check_waivers(path: pathlib.Path) -> None:
    try:
        waiver_file.load(path)
    except waiver_file.ReportError as e:
        raise UsageError(str(e)) from None


def _link_latest(runs: pathlib.Path, run_id: str) -> None:
    latest = runs / "latest"
    tmp = runs / f".latest-{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(run_id)
        tmp.replace(latest)
    except OSError:
        pass


COUNTED = ("pass", "fail", "skip", "xfail", "xpass", "timeout", "crash", "error")
BAD = ("fail", "timeout", "crash", "error", "xpass")


def summary(run: model.Run) -> str:
    lines = []
    width = max([len(t.name) for t in run.targets] + [6])
    for t in run.targets:
        env = t.environment
        desc = " ".join(str(x) for x in (env.get("kernel_release", ""), env.get("arch", ""),
                                         env.get("virtualization", "")) if x)
        if t.status == "broken":
            lines.append(f"  {t.name:<{width}}  BROKEN  {t.error}")
            continue
        counts = {s: sum(1 for r in t.results if r.status == s) for s in COUNTED}
        shown = " ".join(f"{counts[s]} {s}" for s in COUNTED if counts[s] or s in ("pass", "fail", "skip"))
        lines.append(f"  {t.name:<{width}}  {shown}  ({t.duration_s:.1f} s; {desc})")
        bad = [r for r in t.results if r.status in BAD]
        for r in bad[:8]:
            first = (r.message.strip().splitlines() or [""])[0][:100]
            lines.append(f"      {r.status.upper():<7} {r.binary}:{r.suite}.{r.name}  "
                         f"[{','.join(r.requirements)}] {first}")
        if len(bad) > 8:
            lines.append(f"      ... and {len(bad) - 8} more")
        if t.error:
            lines.append(f"      note: {t.error}")
        for s in t.stress:
            if not s.get("ok"):
                lines.append(f"      STRESS  {s.get('binary')}: exit {s.get('exit_code')} {s.get('error', '')}")
    return "\n".join(lines)


def run_failed(run: model.Run) -> bool:
    return any(t.status == "broken" or any(r.status in BAD for r in t.results)
               or any(not s.get("ok") for s in t.stress) for t in run.targets)


def execute(specs: list[str], ctx: targets.Context, plan: engine.Plan, jobs: int = 2,
            progress=None) -> list[model.TargetRun]:
    """Run every target (concurrently, `jobs` at a time); results in spec order."""
    parsed: list[targets.Target | model.TargetRun] = []
    for spec in specs:
        try:
            parsed.append(targets.parse(spec))
        except targets.TargetError as e:
            parsed.append(model.TargetRun(name=spec, kind="unknown", status="broken", error=str(e)))
    requirements = testlist.Requirements(ctx.build_dir)
    results: list[model.TargetRun | None] = [None] * len(parsed)

    def one(i: int) -> None:
        t = parsed[i]
        if isinstance(t, model.TargetRun):
            results[i] = t
            return
        runner = engine.TargetRunner(t, ctx, plan, requirements)
        results[i] = runner.run  # partial results survive an interrupt
        runner.execute()
        if progress:
            progress(runner.run)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, i) for i in range(len(parsed))]
        for f in futures:
            f.result()
    return [r for r in results if r is not None]


def cmd_run(args) -> int:
    if not shutil_which_sh():
        raise UsageError("/bin/sh is missing")
    specs = list(dict.fromkeys(matrices.targets(args.matrix or []) + (args.target or []))) or DEFAULT_TARGETS
    for spec in specs:  # fail fast on unknown targets, before building anything
        targets.parse(spec)
    requirements = catalog.load()  # a broken catalog is reported before anything runs
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    runs = pathlib.Path(args.reports_dir)
    out_dir = runs / run_id
    waivers = pathlib.Path(args.waivers) if args.waivers else None
    if waivers and not waivers.is_file():
        raise UsageError(f"no such waiver file: {waivers}")
    if waivers:
        _check_waivers(waivers)  # a bad file is reported before anything runs
    build_dir = pathlib.Path(args.build_dir).resolve()
    if not (build_dir / "conformance").is_dir():
        raise UsageError(f"no build in {build_dir}: build first (cmake --preset default && "
                         f"cmake --build --preset default)")
    ctx = targets.Context(build_dir=build_dir, cache_dir=cache_dir(), work_dir=out_dir / "work",
                          run_id=run_id.replace("-", "")[-12:], allow_build=not args.no_build,
                          ssh_options=args.ssh_option or [], accel=args.accel,
                          preset_dirs=_preset_dirs(args.preset_dir or []), kernel_args=args.kernel_args)
    plan = engine.Plan(binaries=args.binary or None, gtest_filter=args.filter,
                       per_test_timeout=args.test_timeout, target_timeout=args.target_timeout,
                       stress_seconds=args.stress, bench_seconds=args.bench)
    run = model.Run(run_id=run_id, started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    tool_version=VERSION, command=" ".join(shlex.quote(a) for a in sys.argv), host=host_info())
    stopping = {"sig": None}

    def on_signal(signum, _frame):
        if stopping["sig"] is None:
            stopping["sig"] = signum
            print(f"\nshmconform: {signal.Signals(signum).name}: stopping, saving results so far", file=sys.stderr)
        ctx.stop.set()
        threading.Thread(target=targets.kill_all, daemon=True).start()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"shmconform: run {run_id}: {', '.join(specs)}", flush=True)
    t0 = time.monotonic()
    try:
        run.targets = execute(specs, ctx, plan, jobs=args.jobs,
                              progress=lambda t: print(f"  ... {t.name} done ({t.duration_s:.1f} s)", flush=True))
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    run.finished = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    run.requirements = catalog.report_entries(requirements)
    run.host["wall_time_s"] = round(time.monotonic() - t0, 3)
    main_file = write_run(run, out_dir, waivers)
    _link_latest(runs, run_id)
    if not args.keep_work and not run_failed(run):
        shutil.rmtree(ctx.work_dir, ignore_errors=True)
    print(summary(run))
    print(f"wall time {run.host['wall_time_s']:.1f} s; report: {main_file}")
    if stopping["sig"] is not None:
        return 128 + stopping["sig"]
    return 1 if run_failed(run) else 0


def _preset_dirs(items: list[str]) -> dict[str, pathlib.Path]:
    dirs = {}
    for item in items:
        preset, sep, d = item.partition("=")
        if not sep or not pathlib.Path(d).is_dir():
            raise UsageError(f"--preset-dir wants PRESET=EXISTING_DIR, got '{item}'")
        dirs[preset] = pathlib.Path(d).resolve()
    return dirs


def shutil_which_sh() -> bool:
    return os.access("/bin/sh", os.X_OK)


def cmd_list(args) -> int:
    if args.what == "requirements":
        for req in catalog.load().values():
            print(f"{req.id:<40} {req.profile:<6} {req.statement}")
    elif args.what == "targets":
        for line in TARGET_HELP:
            print(line)
    elif args.what == "matrices":
        for name, m in matrices.load().items():
            print(f"{name:<12} {m['description']}")
            for spec in m["targets"]:
                print(f"    {spec}")
    elif args.what == "tests":
        build = pathlib.Path(args.build_dir) / "conformance"
        binaries = sorted(b for b in build.glob("conformance-*") if b.is_file())
        if not binaries:
            raise UsageError(f"no conformance binaries in {build}: build first")
        for b in binaries:
            try:
                tests = testlist.list_tests(b)
            except testlist.ListingError as e:
                raise UsageError(str(e)) from None
            for t in tests:
                print(f"{b.name}:{t.name}  [{','.join(t.requirements)}]")
    return 0


TARGET_HELP = targets.spec.help_lines()


class _Parser(argparse.ArgumentParser):
    """Bad command lines are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not positive")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="shmconform", description="shared memory conformance harness")
    sub = parser.add_subparsers(dest="verb", required=True)
    run = sub.add_parser("run", help="run the suite on targets and write the report",
                         description="Targets:\n  " + "\n  ".join(TARGET_HELP),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", "-t", action="append", metavar="SPEC",
                     help=f"where to run (repeatable; default: {' '.join(DEFAULT_TARGETS)})")
    run.add_argument("--matrix", "-m", action="append", metavar="NAME",
                     help="every target of a named matrix (repeatable; harness/matrices.toml; "
                          "`list matrices` shows them), with any -t too")
    run.add_argument("--build-dir", default=str(ROOT / "build" / "default"),
                     help="the host build (local, ns, bwrap, wrap, uml targets)")
    run.add_argument("--reports-dir", default=str(ROOT / "reports" / "runs"))
    run.add_argument("--waivers", metavar="FILE", help="expected failures (see reports/)")
    run.add_argument("--binary", action="append", metavar="NAME", help="only this conformance binary (repeatable)")
    run.add_argument("--filter", metavar="GTEST_PATTERN", help="only tests matching (gtest filter syntax)")
    run.add_argument("--test-timeout", type=_positive(int), default=120, metavar="S", help="per test, without progress")
    run.add_argument("--target-timeout", type=_positive(int), default=3600, metavar="S", help="per target, in all")
    run.add_argument("--stress", type=_positive(int), nargs="?", const=10, metavar="SECONDS",
                     help="also run the stress scenarios for SECONDS per target (default 10)")
    run.add_argument("--bench", type=_positive(int), nargs="?", const=10, metavar="SECONDS",
                     help="also run the benchmarks for about SECONDS per target (default 10)")
    run.add_argument("--jobs", "-j", type=_positive(int), default=2, help="targets run at once (default 2)")
    run.add_argument("--no-build", action="store_true", help="never build presets; fail when missing")
    run.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto", help="qemu accelerator")
    run.add_argument("--ssh-option", action="append", metavar="OPT",
                     help="ssh -o OPT (repeatable); i=FILE gives an identity file")
    run.add_argument("--preset-dir", action="append", metavar="PRESET=DIR",
                     help="use prebuilt binaries for a preset (static, aarch64, armhf, riscv64)")
    run.add_argument("--kernel-args", default="", metavar="ARGS", help="extra kernel command line (uml, qemu)")
    run.add_argument("--keep-work", action="store_true", help="keep round scripts and raw output")
    run.set_defaults(func=cmd_run)
    lst = sub.add_parser("list", help="list requirements, targets or tests")
    lst.add_argument("what", choices=["requirements", "targets", "tests", "matrices"])
    lst.add_argument("--build-dir", default=str(ROOT / "build" / "default"))
    lst.set_defaults(func=cmd_list)
    report_cli.register(sub)
    from harness.lava import cli as lava_cli  # noqa: PLC0415 - lava job|import (harness/lava/)
    lava_cli.register(sub)
    proof.register(sub)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, catalog.CatalogError, targets.TargetError, matrices.MatrixError, proof.ProofError,
            report.ReportError) as e:
        print(f"shmconform: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shmconform: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
