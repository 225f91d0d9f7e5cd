"""Guest proofs: strace breakers run inside a QEMU guest (a proof with target = "qemu:PACKAGE"),
for behaviour this host never shows, such as huge pages (every guest boots with hugepages=N,
harness/machines.py, where the host has vm.nr_hugepages=0).

One boot per target for all its proofs: the qemu target (harness/targets/qemu.py) boots the
static build with Debian's strace and its libraries added to the round's initramfs, and its round
script runs, each in turn, the proofs' tests unbroken (once per binary) and under each breaker;
results come back over its serial port. A proof holds when one of its requirement's tests passes
unbroken in the guest and fails under the breaker with a message matching `expect` (runner._judge).
`when=` counts calls per process of the static binary in the guest: guest_trace() shows them.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import subprocess
import time

from harness import builds, gtest, kernels
from harness.proof.declarations import Proof, ProofError, breaker_command
from harness.proof.runner import Context, Suite, Verdict, _judge, passed
from harness.script import Invocation
from harness.targets.base import Context as TargetContext
from harness.targets.base import TargetError
from harness.targets.spec import parse as parse_target

STRACE = pathlib.Path("/usr/bin/strace")
DEFAULT_GUEST = "qemu:linux-image-cloud-amd64"  # --guest-trace of a requirement without a guest proof
GUEST_STRACE = kernels.GUEST_BIN + "/strace"
PER_TEST_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120
# The calls guest_trace() shows (the huge-page tests' own, and the ones a breaker could aim at).
TRACED = ("mmap", "munmap", "mremap", "mprotect", "shmget", "shmat", "shmdt", "shmctl", "openat", "clone",
          "fork", "vfork")


def strace_files(strace: pathlib.Path = STRACE) -> dict[str, bytes]:
    """Guest path -> content: strace at GUEST_STRACE, and every library ldd names (and the
    loader) at the path ldd gives, as the dynamic strace looks for them there."""
    if not strace.is_file():
        raise ProofError(f"{strace} is missing (apt-get install strace)")
    r = subprocess.run(["ldd", str(strace)], capture_output=True, text=True)
    if r.returncode != 0:
        raise ProofError(f"ldd {strace} failed: {r.stderr.strip()[-200:]}")
    files = {GUEST_STRACE: strace.read_bytes()}
    for line in r.stdout.splitlines():
        m = re.search(r"(?:=> )?(/\S+) \(0x", line)
        if m:
            files[m.group(1)] = pathlib.Path(m.group(1)).resolve().read_bytes()
    return files


@dataclasses.dataclass
class _Run:
    """One invocation of the guest round: a binary's tests, unbroken (proof None) or under a proof."""
    id: str
    binary: str
    names: list[str]
    proof: Proof | None
    prefix: list[str]


def _invocations(runs: list[_Run]) -> list[Invocation]:
    out = []
    for r in runs:
        guest_binary = f"{kernels.GUEST_BIN}/{r.binary}"
        tail = [f"--gtest_filter={':'.join(r.names)}", f"--gtest_output=json:{{R}}/{r.id}.json", "--gtest_brief=1"]
        # the qemu target maps argv[0] to the guest's bin directory: a binary, or strace
        argv = [r.binary, *tail] if not r.prefix else [*r.prefix, guest_binary, *tail]
        out.append(Invocation(r.id, argv, PER_TEST_TIMEOUT_S, RUN_TIMEOUT_S))
    return out


def _boot(ctx: Context, target_spec: str, runs: list[_Run], round_name: str) -> tuple[pathlib.Path, str]:
    """Boot the target once for `runs`: the round's results directory, and why the round did not
    finish ("" when it did)."""
    from harness import cli  # noqa: PLC0415 (harness.cli registers this package's verb)
    try:
        target = parse_target(target_spec)
        # only the binaries the proofs run: a whole static build takes minutes
        static = builds.ensure(target.preset or "static", allow_build=ctx.allow_build, error=TargetError,
                               only=sorted({r.binary for r in runs}))
        tctx = TargetContext(build_dir=ctx.build_dir, cache_dir=cli.cache_dir(), work_dir=ctx.work_dir / "guest",
                             run_id=f"proof{int(time.time())}", allow_build=ctx.allow_build,
                             preset_dirs={"static": static})
        target.prepare(tctx)
    except TargetError as e:
        raise ProofError(str(e)) from None
    target.extra_files = strace_files()
    budget = 60 + sum(RUN_TIMEOUT_S for _ in runs)
    outcome = target.run_round(_invocations(runs), tctx.work_dir / round_name, budget)
    if (outcome.results / "round.done").exists():
        return outcome.results, ""
    how = f"timed out after {budget} s" if outcome.timed_out else f"qemu exit {outcome.returncode}"
    return outcome.results, f"the guest round did not finish ({how}); console: {outcome.console.strip()[-300:]!r}"


def _cases(results: pathlib.Path, run_id: str) -> tuple[dict[str, gtest.Case] | None, str]:
    """Full test name -> case of one invocation of the guest round; (None, why) without a report."""
    report, out, rc = (results / f"{run_id}.{ext}" for ext in ("json", "out", "rc"))
    if not report.exists():
        tail = out.read_text(errors="replace")[-400:].strip() if out.exists() else ""
        status = rc.read_text().strip() if rc.exists() else "none"
        return None, f"no report from the guest (exit {status}): {tail}"
    try:
        return {c.full_name: c for c in gtest.parse_json(report.read_text())}, ""
    except gtest.GtestError as e:
        return None, f"bad report from the guest: {e}"


def _plan(ctx: Context, suite: Suite, proofs: list[tuple[int, Proof]]) -> tuple[list[_Run], list[_Run]]:
    """(one unbroken run per binary of all the proofs' tests, one run per proof and binary under its breaker)."""
    unbroken: dict[str, _Run] = {}
    broken: list[_Run] = []
    for i, p in proofs:
        for binary, names in suite.tests.get(p.requirement, {}).items():
            base = unbroken.setdefault(binary, _Run(f"unbroken-{binary}", binary, [], None, []))
            base.names += [n for n in names if n not in base.names]
            broken.append(_Run(f"proof{i}-{binary}", binary, names, p, breaker_command(p.breaker, ctx.shim)[0]))
    return list(unbroken.values()), broken


def _verdict(proof: Proof, runs: list[_Run], stock: dict, results: pathlib.Path, unfinished: str) -> Verdict:
    """The host's rule (runner.check): a test passing unbroken in the guest fails under the breaker as expected."""
    notes = []
    for r in runs:
        base, why = stock[r.binary]
        passing = passed(r.names, base)
        if not passing:
            seen = "; ".join(f"{n}: {base[n].status} {base[n].message.strip()[:120]}" for n in r.names
                             if base and n in base)
            notes.append(f"{r.binary}: no test passes unbroken in {proof.target}: {why or seen or 'not run'}")
            continue
        cases, why = _cases(results, r.id)
        missed = f"{r.binary}: {why}" if cases is None else _judge(proof, passing, cases, r.binary)
        if missed is None:
            return Verdict(proof, True, "")
        notes.append(missed)
    return Verdict(proof, False, "; ".join(notes + ([unfinished] if unfinished else [])) or "no test names it")


def check_guest(ctx: Context, suite: Suite, proofs: list[Proof]) -> list[Verdict]:
    """Every guest proof's verdict, in order: skipped without ctx.vm, else one boot per target."""
    if not ctx.vm:
        return [Verdict(p, False, "not run: guest proofs run with ./shmconform proof --vm", skipped=True)
                for p in proofs]
    verdicts: dict[int, Verdict] = {}
    for target_spec in sorted({p.target for p in proofs}):
        mine = [(i, p) for i, p in enumerate(proofs) if p.target == target_spec]
        unbroken, broken = _plan(ctx, suite, mine)
        results, unfinished = _boot(ctx, target_spec, unbroken + broken, "proofs")
        stock = {r.binary: _cases(results, r.id) for r in unbroken}
        for i, p in mine:
            verdicts[i] = _verdict(p, [r for r in broken if r.proof is p], stock, results, unfinished)
    return [verdicts[i] for i in range(len(proofs))]


def guest_trace(ctx: Context, suite: Suite, target_spec: str, requirements: list[str]) -> str:
    """Each requirement's tests traced once in the guest (no breaker): the calls of TRACED with
    their per-process numbers, the `when=` a guest proof aims with."""
    from harness.proof.discover import parse_trace  # noqa: PLC0415
    runs = []
    for rid in requirements:
        for binary, names in suite.tests.get(rid, {}).items():
            run_id = f"trace{len(runs)}-{binary}"
            prefix = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "signal=none", "-e", "trace=" + ",".join(TRACED),
                      "-o", f"{{R}}/{run_id}.err"]  # .err: a file the round sends back
            runs.append((rid, _Run(run_id, binary, names, None, prefix)))
    if not runs:
        raise ProofError(f"no test names {', '.join(requirements)}")
    results, unfinished = _boot(ctx, target_spec, [r for _, r in runs], "trace")
    lines = []
    for rid, r in runs:
        lines.append(f"# {rid}: {r.binary} --gtest_filter={':'.join(r.names)}")
        trace = results / f"{r.id}.err"
        if not trace.exists():
            lines.append(f"  no trace from the guest {unfinished}".rstrip())
            continue
        lines += numbered_calls(parse_trace(trace.read_text(errors="replace")))
    return "\n".join(lines)


def numbered_calls(calls) -> list[str]:
    """One line per traced call: its process, its number among that process's calls of its name
    (what when= counts), the call and its result."""
    lines = []
    for c in calls:
        args = re.sub(r"\)\s+=\s.*$", ")", c.args)  # the result is printed once, after
        lines.append(f"  pid {c.pid} {c.name} #{c.tracee_index}: {c.name}({args[:100]} = {c.ret} {c.errno}".rstrip())
    return lines
