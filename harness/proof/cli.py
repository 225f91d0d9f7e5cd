"""`shmconform proof`: run every declared proof (or only count them, --declared), or discover proofs
(--discover, --write); print the figure."""
from __future__ import annotations

import concurrent.futures
import pathlib
import shutil
import tempfile

from harness import catalog
from harness.proof.declarations import CURATED, ROOT, Proof, ProofError, load, toml_entry, unproven_entry, write_generated
from harness.proof.discover import discover, startup_counts
from harness.proof.figure import figure_lines
from harness.proof.guest import DEFAULT_GUEST, guest_trace
from harness.proof.runner import Context, Suite, check_all


def requirement_ids() -> list[str]:
    return list(catalog.load())


def _discover_verb(ctx: Context, suite: Suite, args, reqs: list[str]) -> int:
    curated, curated_unproven = load(ctx.proof_dir / CURATED) if (ctx.proof_dir / CURATED).exists() else ([], [])
    # uml proofs run only on request: the requirement keeps a generated proof beside them
    hand = {p.requirement for p in curated if not p.breaker.startswith("uml:")} | {u.requirement for u in curated_unproven}
    unknown = [r for r in args.discover if r not in reqs]
    if unknown:
        raise ProofError(f"no requirement {', '.join(unknown)} in the catalog")
    wanted = args.discover or [r for r in reqs if r not in hand]
    startup = startup_counts(ctx, suite)

    def one(rid: str) -> tuple[str, Proof | str]:
        return rid, discover(ctx, suite, rid, startup, accept_setup=args.accept_setup)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        found = dict(pool.map(one, wanted))
    if not args.write:
        for rid, result in found.items():
            print(toml_entry(result) if isinstance(result, Proof) else unproven_entry(rid, result), flush=True)
        return 0
    write_generated(ctx.proof_dir, found, catalog.load(), hand)
    return 0


def _guest_trace_verb(ctx: Context, suite: Suite, wanted: list[str], proofs: list[Proof]) -> int:
    unknown = [r for r in wanted if r not in suite.tests]
    if unknown:
        raise ProofError(f"no test names {', '.join(unknown)}")
    where = {p.requirement: p.target for p in proofs if p.target}
    for target in sorted({where.get(r, DEFAULT_GUEST) for r in wanted}):
        print(guest_trace(ctx, suite, target, [r for r in wanted if where.get(r, DEFAULT_GUEST) == target]), flush=True)
    return 0


def register(sub) -> None:
    """`shmconform proof`: run every declared proof, print the figure and what has none."""
    p = sub.add_parser("proof", help="prove each requirement's tests can fail; print the figure",
                       description="Runs every proof of conformance/proofs/*.toml (strace and mutant breakers) "
                                   "and prints: requirements with an automated proof / all requirements, then "
                                   "each requirement without one and why. Exit 1 when a declared proof fails.")
    p.add_argument("--build-dir", default=str(ROOT / "build" / "default"))
    p.add_argument("--declared", action="store_true", help="only count the declarations, run nothing")
    p.add_argument("--jobs", "-j", type=int, default=2)
    p.add_argument("--uml", action="store_true",
                   help="also run the uml:PATCH proofs (the first run builds each patched kernel: 10-25 min)")
    p.add_argument("--vm", action="store_true",
                   help="also run the guest proofs (target = \"qemu:PACKAGE\"): one QEMU boot per kernel, "
                        "which downloads the kernel package and builds the static preset when missing")
    p.add_argument("--guest-trace", nargs="+", metavar="REQ",
                   help="trace these requirements' tests once in the QEMU guest of their guest proofs and print "
                        "each traced call with its per-process number (the when= of a guest proof); runs no proof")
    p.add_argument("--write", action="store_true",
                   help="with --discover: rewrite the generated conformance/proofs/<area>.toml files")
    p.add_argument("--accept-setup", action="store_true",
                   help="with --discover: accept a refusal of the call under test that only an ASSERT on that call "
                        "notices (for requirements whose behaviour is that the call succeeds)")
    p.add_argument("--discover", nargs="*", metavar="REQ",
                   help="find proofs for these requirements (default: every one without a proof) and "
                        "print them as TOML entries; nothing is written")
    p.set_defaults(func=cli_main)


def cli_main(args) -> int:
    import sys  # noqa: PLC0415
    reqs = requirement_ids()
    if args.discover is None:  # discovery rewrites the generated files, whatever state they are in
        proofs, unproven = load(known=set(reqs))
    if args.declared:
        _, lines = figure_lines(reqs, None, proofs, unproven)
        print("\n".join(lines))
        return 0
    build = pathlib.Path(args.build_dir).resolve()
    if not (build / "conformance").is_dir():
        raise ProofError(f"no build in {build}: build first (cmake --preset default && cmake --build --preset default)")
    if not shutil.which("strace"):
        raise ProofError("strace is not installed (apt-get install strace)")
    with tempfile.TemporaryDirectory(prefix="shmconform-proof.") as work:
        ctx = Context(build, pathlib.Path(work), uml=args.uml, vm=args.vm)
        suite = Suite.gather(ctx)
        if args.guest_trace:
            return _guest_trace_verb(ctx, suite, args.guest_trace, load(known=set(reqs))[0])
        if args.discover is not None:
            return _discover_verb(ctx, suite, args, reqs)
        verdicts = check_all(ctx, suite, proofs, args.jobs)
    _, lines = figure_lines(reqs, verdicts, proofs, unproven)
    print("\n".join(lines))
    bad = [v for v in verdicts if not v.ok and not v.skipped]
    for v in bad:
        print(f"FAILED PROOF {v.proof.where}: {v.proof.requirement} under {v.proof.breaker}: {v.detail}",
              file=sys.stderr)
    if bad:
        print("when the tests changed: ./shmconform proof --discover --write regenerates the generated proofs "
              "(curated.toml is yours to fix)", file=sys.stderr)
    return 1 if bad else 0
