"""Running proofs: every binary once unbroken (which tests name which requirement, which pass), then
the requirement's tests under the breaker, each run in fresh IPC and mount namespaces with a private
/dev/shm; a proof holds when one of them fails with a message matching its `expect`."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

from harness import gtest, proof_uml, testlist
from harness.proof.declarations import PROOF_DIR, UML_RE, Proof, ProofError, breaker_command

RUN_TIMEOUT_S = 60


def listed_requirements(binary: pathlib.Path) -> dict[str, list[str]]:
    """Test full name -> requirement ids, from the binary's --shmconform_list."""
    try:
        return {t.name: list(t.requirements) for t in testlist.list_tests(binary)}
    except testlist.ListingError as e:
        raise ProofError(str(e)) from None


@dataclasses.dataclass
class Context:
    build_dir: pathlib.Path
    work_dir: pathlib.Path
    proof_dir: pathlib.Path = PROOF_DIR
    uml: bool = False  # run uml:PATCH proofs (builds the kernel once, minutes)
    vm: bool = False  # run guest proofs (a target = "qemu:..."; boots a QEMU guest, harness/proof/guest.py)
    allow_build: bool = True  # a guest proof may build the static preset it boots

    @property
    def shim(self) -> pathlib.Path:
        return self.build_dir / "support" / "libshmconform_mutants.so"

    def binaries(self) -> list[pathlib.Path]:
        return sorted(b for b in (self.build_dir / "conformance").glob("conformance-*")
                      if b.is_file() and os.access(b, os.X_OK))


def isolation_prefix() -> list[str]:
    """Fresh IPC and mount namespaces with a private /dev/shm: whatever a broken run
    leaves behind dies with them."""
    unshare = ["unshare", "--ipc", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare.insert(1, "--map-root-user")
    return unshare + ["sh", "-c", 'mount -t tmpfs -o mode=1777 shmconform-proof /dev/shm && exec "$@"', "sh"]


def run_binary(ctx: Context, binary: pathlib.Path, gtest_filter: str | None, prefix: list[str],
               env_extra: dict[str, str]) -> tuple[dict[str, gtest.Case] | None, str]:
    """Full test name -> case of one isolated run; (None, why) when the binary gave no report."""
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="run.", dir=ctx.work_dir))
    report = scratch / "report.json"
    env = dict(os.environ, SHMCONFORM_TMPDIR=str(scratch), **env_extra)
    argv = isolation_prefix() + prefix + [str(binary), f"--gtest_output=json:{report}", "--gtest_brief=1"]
    if gtest_filter:
        argv.append(f"--gtest_filter={gtest_filter}")
    try:
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S,
                           check=False)
        tail = r.stdout.decode(errors="replace")[-400:]
        if not report.exists():
            return None, f"no report (exit {r.returncode}): {tail.strip()}"
        try:
            return {c.full_name: c for c in gtest.parse_json(report.read_text())}, ""
        except gtest.GtestError as e:
            return None, f"bad report: {e}"
    except subprocess.TimeoutExpired:
        return None, f"timed out after {RUN_TIMEOUT_S} s"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclasses.dataclass
class Suite:
    """The unbroken runs: every binary once, and which tests name which requirement."""
    baseline: dict[str, dict[str, gtest.Case]]          # binary name -> test -> case
    tests: dict[str, dict[str, list[str]]]              # requirement -> binary name -> test names
    paths: dict[str, pathlib.Path]

    @classmethod
    def gather(cls, ctx: Context) -> "Suite":
        baseline, tests, paths = {}, {}, {}
        for binary in ctx.binaries():
            cases, why = run_binary(ctx, binary, None, [], {})
            if cases is None:
                raise ProofError(f"{binary.name} does not run unbroken: {why}")
            baseline[binary.name], paths[binary.name] = cases, binary
            for name, ids in listed_requirements(binary).items():
                for rid in ids:
                    tests.setdefault(rid, {}).setdefault(binary.name, []).append(name)
        return cls(baseline, tests, paths)

    def runnable(self, requirement: str) -> dict[str, list[str]]:
        """Binary -> the requirement's tests that pass unbroken (only those can prove anything)."""
        out = {}
        for binary, names in self.tests.get(requirement, {}).items():
            passing = passed(names, self.baseline[binary])
            if passing:
                out[binary] = passing
        return out

    def why_not_runnable(self, requirement: str) -> str:
        found = self.tests.get(requirement)
        if not found:
            return "no test names it"
        statuses = [f"{n}: {self.baseline[b][n].status} {self.baseline[b][n].message.strip()[:120]}".strip()
                    for b, names in found.items() for n in names if n in self.baseline[b]]
        return "no test of it passes unbroken here (" + "; ".join(statuses) + ")"


@dataclasses.dataclass
class Verdict:
    proof: Proof
    ok: bool
    detail: str
    skipped: bool = False  # not run (a uml: proof without --uml): neither proves nor fails


def passed(names: list[str], cases: dict[str, gtest.Case] | None) -> list[str]:
    """Those of `names` that passed in `cases` (a run's report; None when it gave none): only
    a test that passes unbroken can prove anything."""
    return [n for n in names if cases and (c := cases.get(n)) and c.status == "pass"]


def _judge(proof: Proof, names: list[str], cases: dict[str, gtest.Case], binary: str) -> str | None:
    """None when one of `names` failed with the expected message, else what happened."""
    failed = [c for n in names if (c := cases.get(n)) and c.status == "fail"]
    if any(re.search(proof.expect, c.message) for c in failed):
        return None
    if failed:
        return (f"{binary}: failed, but no message matches /{proof.expect}/: "
                + " | ".join(c.message.strip()[:300] for c in failed[:2]))
    return f"{binary}: every test still passes or skips: {', '.join(names)}"


def check_uml(ctx: Context, suite: Suite, proof: Proof) -> Verdict:
    """A uml: proof: the tests pass on Debian's UML kernel and fail on the patched one."""
    if not ctx.uml:
        return Verdict(proof, False, "not run: uml proofs run with ./shmconform proof --uml", skipped=True)
    name = UML_RE.match(proof.breaker).group(1)
    try:
        kernel = proof_uml.build(name)
    except proof_uml.UmlError as e:
        return Verdict(proof, False, str(e))
    notes = []
    for binary, names in suite.tests.get(proof.requirement, {}).items():
        stock, why = proof_uml.run(proof_uml.STOCK_KERNEL, suite.paths[binary], ":".join(names), ctx.work_dir)
        passing = passed(names, stock)
        if not passing:
            notes.append(f"{binary}: no test passes on {proof_uml.STOCK_KERNEL} {why}".strip())
            continue
        broken, why = proof_uml.run(kernel, suite.paths[binary], ":".join(passing), ctx.work_dir)
        if broken is None:
            notes.append(f"{binary}: {why}")
            continue
        missed = _judge(proof, passing, broken, binary)
        if missed is None:
            return Verdict(proof, True, "")
        notes.append(missed)
    return Verdict(proof, False, "; ".join(notes) or "no test names it")


def check(ctx: Context, suite: Suite, proof: Proof) -> Verdict:
    """Run the proof's requirement's tests under its breaker; ok when one that passes
    unbroken fails with a message matching `expect`."""
    if proof.breaker.startswith("uml:"):
        return check_uml(ctx, suite, proof)
    runnable = suite.runnable(proof.requirement)
    if not runnable:
        return Verdict(proof, False, suite.why_not_runnable(proof.requirement))
    prefix, env = breaker_command(proof.breaker, ctx.shim)
    if prefix and not shutil.which(prefix[0]):
        raise ProofError(f"{prefix[0]} is not installed (apt-get install {prefix[0]})")
    notes = []
    for binary, names in runnable.items():
        cases, why = run_binary(ctx, suite.paths[binary], ":".join(names), prefix, env)
        if cases is None:
            notes.append(f"{binary}: {why}")
            continue
        missed = _judge(proof, names, cases, binary)
        if missed is None:
            return Verdict(proof, True, "")
        notes.append(missed)
    return Verdict(proof, False, "; ".join(notes))


def check_all(ctx: Context, suite: Suite, proofs: list[Proof], jobs: int = 2) -> list[Verdict]:
    """Every proof's verdict, in order: the host's in parallel, the guest proofs in one boot per target."""
    from harness.proof.guest import check_guest  # noqa: PLC0415 (guest builds on this module)
    host = [p for p in proofs if not p.target]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        found = dict(zip(map(id, host), pool.map(lambda p: check(ctx, suite, p), host)))
    guest = [p for p in proofs if p.target]
    found.update(zip(map(id, guest), check_guest(ctx, suite, guest) if guest else []))
    return [found[id(p)] for p in proofs]
