"""`shmconform lava job|import`: write a LAVA job; turn LAVA results into a run.

  lava job --kernel KERNEL [--arch amd64|arm64] [--device-type qemu] --out DIR [--validate]
  lava import FILE|DIR... [--out DIR] [--listing JSON|BINARY|BUILD_DIR]...

Every user error is one line on stderr and exit 2.
"""
from __future__ import annotations

import datetime
import pathlib
import shlex
import sys
import time

from harness import builds, catalog
from harness.lava import artifacts, dispatcher, importer, job as job_mod, results
from harness.lava.artifacts import ArtifactError

ROOT = artifacts.ROOT


def _err(msg: str) -> int:
    print(f"shmconform: {msg}", file=sys.stderr)
    return 2


def cache_dir() -> pathlib.Path:
    from harness import cli  # noqa: PLC0415 - the one definition of the cache location
    return cli.cache_dir()


def static_build(a: artifacts.Arch, build_dir: str | None, allow_build: bool) -> pathlib.Path:
    if build_dir:
        return pathlib.Path(build_dir).resolve()
    return builds.ensure(a.preset, allow_build=allow_build, error=ArtifactError)


def probe_for(a: artifacts.Arch, cache: pathlib.Path) -> pathlib.Path:
    from harness.targets import Context, TargetError  # noqa: PLC0415
    from harness.targets.probe import probe_binary  # noqa: PLC0415
    ctx = Context(build_dir=ROOT, cache_dir=cache, work_dir=cache, run_id="lava")
    try:
        return probe_binary(ctx, a.probe_arch)
    except TargetError as e:
        raise ArtifactError(str(e)) from None


def cmd_job(args) -> int:
    try:
        a = artifacts.arch(args.arch)
        cache = cache_dir()
        t0 = time.monotonic()
        bins = None if (args.test_from != "inline" and args.suite_url) else \
            static_build(a, args.build_dir, not args.no_build)
        probe = None
        if bins is not None:
            try:
                probe = probe_for(a, cache)
            except ArtifactError as e:  # the job still runs: the guest then reports uname only
                print(f"shmconform: note: no environment probe in the overlay ({e})", file=sys.stderr)
        opts = job_mod.JobOptions(kernel=args.kernel, device_type=args.device_type, arch=a.name,
                                  artifacts_url=args.artifacts_url, test_from=args.test_from,
                                  suite_url=args.suite_url, gtest_filter=args.filter or "",
                                  binary_timeout=args.binary_timeout, test_timeout=args.test_timeout,
                                  memory_mb=args.memory,
                                  kernel_args=args.kernel_args,
                                  busybox=pathlib.Path(args.busybox) if args.busybox else None)
        written = job_mod.write(opts, pathlib.Path(args.out), cache=cache, bins=bins, probe=probe)
        print(f"job          {written.job}  ({time.monotonic() - t0:.1f} s)")
        for label, path in (("kernel", written.kernel), ("ramdisk", written.ramdisk), ("overlay", written.overlay)):
            if path:
                print(f"{label:<12} {path}")
        if args.validate:
            t1 = time.monotonic()
            ok, why = dispatcher.validate(written.job, pathlib.Path(args.out) / "validate", cache,
                                          opts.device_type, a.name, opts.memory_mb)
            if not ok:
                return _err(f"lava-run --validate rejected {written.job}: {why}")
            print(f"valid        lava-run --validate ({time.monotonic() - t1:.1f} s)")
        print(f"submit with  lavacli jobs submit {written.job}")
    except (ArtifactError, OSError) as e:
        return _err(str(e) if isinstance(e, ArtifactError) else f"{getattr(e, 'filename', '') or ''}: {e}")
    return 0


def cmd_import(args) -> int:
    from harness import cli  # noqa: PLC0415 - report writing is the run verb's

    jobs: list[results.LavaJob] = []
    bad = None
    for path in args.files:
        try:
            p = pathlib.Path(path)
            if not p.exists():
                raise results.ResultsError(f"{path}: no such file or directory")
            jobs += results.read(p)
        except results.ResultsError as e:
            bad = bad or str(e)
    try:
        jobs = results.combine(jobs)
        if args.listing:
            reqs = importer.Requirements([pathlib.Path(x) for x in args.listing])
        else:  # the checkout's own build lists the same tests as the lab's binaries
            builds_here = [p for p in (ROOT / "build" / "default", ROOT / "build" / "ci") if (p / "conformance").is_dir()]
            reqs = importer.Requirements(builds_here[:1], strict=False)
    except (results.ResultsError, importer.ListingError) as e:
        return _err(f"lava import: {e}")
    if not jobs:
        return _err(f"lava import: {bad or 'no LAVA results given'}")
    run = importer.to_run(jobs, reqs, command=" ".join(shlex.quote(a) for a in sys.argv))
    for why in reqs.errors().values():
        for t in run.targets:  # said in the report, not lost on the terminal
            t.error = "; ".join(x for x in (t.error, f"requirement ids unknown: {why}") if x)
    try:
        run.requirements = catalog.report_entries(catalog.load())
    except catalog.CatalogError:
        pass  # no catalog here: the report names the ids without their statements
    out = pathlib.Path(args.out) if args.out else \
        ROOT / "reports" / "runs" / ("lava-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S"))
    try:
        main_file = cli.write_run(run, out, pathlib.Path(args.waivers) if args.waivers else None)
    except Exception as e:  # noqa: BLE001 - a report error (bad waiver file) is one line
        return _err(f"lava import: {e}")
    if bad:
        # One line, exit 2; the files that were good are imported all the same.
        return _err(f"lava import: {bad}; the other {len(jobs)} job(s) are in {out}")
    print(cli.summary(run))
    print(f"imported {len(jobs)} job(s) into {len(run.targets)} target(s); report: {main_file}")
    return 0


def register(subparsers) -> None:
    lava = subparsers.add_parser("lava", help="run the suite in LAVA labs: write jobs, import results",
                                 description="LAVA (the scheduler behind KernelCI): see ci/lava/README.md.")
    sub = lava.add_subparsers(dest="lava_verb", required=True)
    j = sub.add_parser("job", help="write a LAVA job (and the files it deploys) for a device type and kernel")
    j.add_argument("--kernel", required=True, metavar="VMLINUZ|PACKAGE",
                   help="a kernel image or a Debian linux-image package (fetched into the cache)")
    j.add_argument("--device-type", default="qemu", choices=job_mod.DEVICE_TYPES)
    j.add_argument("--arch", default="amd64", choices=sorted(artifacts.ARCHES))
    j.add_argument("--out", required=True, metavar="DIR", help="where job.yaml and its files go")
    j.add_argument("--artifacts-url", metavar="URL",
                   help="base URL the lab downloads the files of DIR from (default: file:// paths)")
    j.add_argument("--test-from", default="inline", metavar="inline|git:URL[@REV]",
                   help="the test definition: inline (default) or ci/lava/shmconform.yaml of a git repository")
    j.add_argument("--suite-url", metavar="URL", help="with git: the suite .tar.gz the guest fetches (no overlay)")
    j.add_argument("--filter", metavar="GTEST_PATTERN", help="only tests matching (gtest filter syntax)")
    j.add_argument("--binary-timeout", type=int, default=900, metavar="S", help="per binary in the guest")
    j.add_argument("--test-timeout", type=int, default=300, metavar="S",
                   help="a binary with no test starting or ending for S seconds is killed as hung (0: never)")
    j.add_argument("--memory", type=int, default=1024, metavar="MB")
    j.add_argument("--kernel-args", default="", metavar="ARGS", help="extra kernel command line")
    j.add_argument("--busybox", metavar="FILE", help="static busybox for the ramdisk (default: the architecture's "
                   "busybox-static)")
    j.add_argument("--build-dir", metavar="DIR", help="static build of the architecture (default: its preset)")
    j.add_argument("--no-build", action="store_true", help="never build the preset; fail when missing")
    j.add_argument("--validate", action="store_true", help="check the job with lava-run --validate")
    j.set_defaults(func=cmd_job)
    i = sub.add_parser("import", help="a run (report.json, junit.xml, report.html, summary.md) from LAVA results",
                       description="FILES: lava-run job logs, a server's /api/v0.2/jobs/ID/logs/, "
                                   "/api/v0.2/jobs/ID/tests/, /api/v0.2/jobs/ID/yaml/ and /api/v0.2/jobs/ID/ "
                                   "(kernel and device), or directories of them. One target per job.")
    i.add_argument("files", nargs="+", metavar="FILE|DIR")
    i.add_argument("--out", metavar="DIR", help="where the reports go (default reports/runs/lava-STAMP)")
    i.add_argument("--listing", action="append", metavar="JSON|BINARY|BUILD_DIR",
                   help="requirement ids: --shmconform_list output, a binary or a build (default build/default)")
    i.add_argument("--waivers", metavar="FILE", help="waiver file (see reports/README.md)")
    i.set_defaults(func=cmd_import)
