"""Proofs of failure: every requirement's tests shown able to FAIL when the
behaviour they check is broken.

A proof is a (breaker, requirement) pair declared in conformance/proofs/*.toml:

    [[proof]]
    requirement = "SYSV.SHMDT.RETURNS_ZERO"
    breaker = "strace:shmdt:retval=0:when=1"   # or strace:NAME:error=EINVAL[:when=N], mutant:NAME
    kind = "no-op"                              # what the breaker fakes (see KINDS)
    expect = "FindMapsEntry\\(p\\)"              # a regex one failure message must match (the aim)

    [[unproven]]
    requirement = "MMAP.HUGETLB.MAP"
    reason = "why no breaker can make its tests fail"

check() runs the requirement's tests (a gtest filter of the tests that name it)
under the breaker and requires one of them, passing unbroken, to FAIL with a
message matching `expect`; a crashed binary or skipped tests prove nothing.
Every run happens in fresh IPC and mount namespaces with a private /dev/shm and
scratch directory, so a breaker that turns IPC_RMID or shm_unlink into a no-op
leaves nothing behind.

discover() finds a proof for a requirement without one: it traces the
requirement's tests (strace) and tries, in this order, to make a call that
failed succeed (fake-success) or fail with another errno (wrong-errno), to make
a successful call of the interface do nothing (no-op), the interface's mutants,
other no-ops, and last to refuse a successful call of the interface under test
(refusal), each strace breaker aimed with `when=` at one call. uml:PATCH
breakers (harness/proof_uml.py) are written by hand and run with --uml.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import tomllib

from harness import catalog, gtest, proof_uml, testlist

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROOF_DIR = ROOT / "conformance" / "proofs"
# What a breaker does to the behaviour, strongest first.
KINDS = ("kernel", "fake-success", "wrong-errno", "mutant", "no-op", "refusal")
RUN_TIMEOUT_S = 60
# The system calls discovery watches and may break.
TRACED = ("shmget", "shmat", "shmdt", "shmctl", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync",
          "memfd_create", "openat", "unlink", "unlinkat", "ftruncate", "fallocate", "fcntl", "newfstatat",
          "fstat", "statx", "stat", "lstat", "mlock", "munlock", "sendmsg", "recvmsg", "unshare", "setns", "mount", "execve", "capset",
          "setrlimit", "prlimit64")
# Calls that return 0 on success, so retval=0 fakes a success that did nothing.
NOOP_ABLE = ("shmdt", "shmctl", "munmap", "mprotect", "madvise", "msync", "ftruncate", "fallocate", "fcntl",
             "unlink", "unlinkat", "mlock", "munlock", "unshare", "setns", "mount", "capset", "setrlimit",
             "prlimit64")
# Calls whose success returns an address or descriptor: a refusal is the only break.
REFUSABLE = ("shmget", "shmat", "mmap", "mremap", "memfd_create", "openat", "sendmsg", "recvmsg", "execve")
# The second word of a requirement id -> the calls that implement that interface.
INTERFACE_CALLS = {
    "SHMGET": ("shmget",), "SHMAT": ("shmat",), "SHMDT": ("shmdt",), "SHMCTL": ("shmctl",),
    "FORK": ("shmat", "shmctl"), "EXEC": ("execve", "shmctl"), "EXIT": ("shmctl",), "FTOK": ("statx", "newfstatat", "stat"),
    "LIFECYCLE": ("shmget", "shmat", "shmdt", "shmctl"), "PROC": ("shmctl", "shmget", "openat"),
    "IPC": ("shmget", "shmat", "shmctl", "unshare", "setns"), "SYSVIPC_SHM": ("shmctl", "openat"),
    "SHM_NEXT_ID": ("shmget", "openat"), "DEVSHM": ("mount", "unshare", "openat"),
    "CAP_IPC_OWNER": ("shmget", "shmat", "shmctl", "capset"), "SHM_LOCK": ("shmctl", "setrlimit", "prlimit64"),
    "MMAP": ("mmap",), "MUNMAP": ("munmap",), "MSYNC": ("msync",), "MPROTECT": ("mprotect",),
    "MREMAP": ("mremap",), "MADVISE": ("madvise",), "HUGETLB": ("mmap", "shmget", "munmap"),
    "PRIVATE": ("mmap",), "SHARED": ("mmap",), "ANON": ("mmap",), "FAULT": ("mmap", "ftruncate"),
    "SEED": ("mmap", "msync"), "OPEN": ("openat", "newfstatat", "fstat"), "FTRUNCATE": ("ftruncate",),
    "SHARE": ("mmap", "sendmsg", "recvmsg", "openat"), "UNLINK": ("unlink", "unlinkat"),
    "CREATE": ("memfd_create", "fcntl"), "SEAL": ("fcntl",),
}
# The mutants of support/mutants/mutant_shim.cc that fake a behaviour of an interface.
INTERFACE_MUTANTS = {
    "SHMGET": ("excl-ignored", "key-per-process", "private-key-reused", "attach-not-zeroed", "stat-mode-keeps-creat",
               "extra-page-after-segment"),
    "SHMAT": ("attach-addr-ignored", "attach-moves-brk", "cap-ipc-owner-ignored", "attach-readonly", "attach-rdonly-ignored", "attach-exec-ignored",
              "child-attach-returns-inherited"),
    "SHMCTL": ("stat-segsz-rounded", "nattch-inflated", "rmid-ignored"),
    "FORK": ("fork-drops-attachments", "nattch-inflated"),
    "EXEC": ("nattch-inflated",), "EXIT": ("nattch-inflated", "destroy-on-child-exit"),
    "IPC": ("ns-kept-alive",), "SHM_NEXT_ID": ("next-id-ignored",), "CAP_IPC_OWNER": ("cap-ipc-owner-ignored",),
    "LIFECYCLE": ("destroy-on-child-exit", "nattch-inflated", "rmid-ignored"), "PROC": ("rmid-ignored",),
    "FTOK": ("ftok-ignores-id", "ftok-uses-high-id-bits", "ftok-unstable"), "MUNMAP": ("munmap-noop",), "MREMAP": ("mremap-dontunmap-ignored", "mremap-moved-is-private-copy"),
    "PRIVATE": ("private-is-shared", "private-file-is-anonymous"),
    "SHARED": ("shared-is-private", "shared-file-is-snapshot"), "SEED": ("shared-is-private", "shared-file-is-snapshot"),
    "ANON": ("shared-is-private", "private-anon-is-shared", "anon-not-zeroed"),
    "MMAP": ("prot-none-readable", "hint-is-fixed", "fixed-is-hint", "shared-file-is-snapshot"),
    "FAULT": ("beyond-eof-backed", "prot-none-readable", "read-only-is-writable"), "MADVISE": ("dontneed-zeroes-shared",),
    "OPEN": ("shm-open-create-nonempty", "shm-open-foreign-owner", "shm-open-mode-ignored", "shm-open-accepts-any-name"),
    "SHARE": ("shared-is-private", "shared-file-is-snapshot"), "UNLINK": ("shm-unlink-detaches-fds", "shm-unlink-truncates"),
}
# A failure of this expectation means a setup step failed, not the behaviour checked.
SETUP_EXPECTATION = re.compile(r"^Value of: (shmconform_result_\\\.ok|[\w\\.]+WaitForNotification)\\\(\\\)$")


class ProofError(Exception):
    """A proof file or breaker is malformed, or the tools are missing; the message says which."""


@dataclasses.dataclass(frozen=True)
class Proof:
    requirement: str
    breaker: str
    kind: str
    expect: str
    where: str = ""  # file and entry, for messages


@dataclasses.dataclass(frozen=True)
class Unproven:
    requirement: str
    reason: str


# --- breakers ---------------------------------------------------------------

_STRACE_RE = re.compile(r"^strace:([a-z0-9_]+):(retval=-?\d+|error=E[A-Z0-9]+)(?::when=(\d+)(\+?))?$")
_MUTANT_RE = re.compile(r"^mutant:([a-z0-9-]+)$")
_UML_RE = re.compile(r"^uml:([a-z0-9-]+)$")


def breaker_command(breaker: str, shim: pathlib.Path) -> tuple[list[str], dict[str, str]]:
    """The command prefix and environment that apply a breaker to a binary run."""
    m = _STRACE_RE.match(breaker)
    if m:
        call, action, when, plus = m.groups()
        inject = f"{call}:{action}" + (f":when={when}{plus}" if when else "")
        return (["strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null", "-e", f"trace={call}",
                 "-e", "signal=none", "-e", f"inject={inject}"], {})
    m = _MUTANT_RE.match(breaker)
    if m:
        return [], {"LD_PRELOAD": str(shim), "SHMCONFORM_MUTANT": m.group(1)}
    m = _UML_RE.match(breaker)
    if m:
        if not proof_uml.patch_path(m.group(1)).is_file():
            raise ProofError(f"breaker '{breaker}': no kernel patch {proof_uml.patch_path(m.group(1))}")
        return [], {}  # not a command prefix: check() boots a patched kernel
    raise ProofError(f"breaker '{breaker}' is not strace:CALL:retval=N|error=ENAME[:when=N], mutant:NAME "
                     "or uml:PATCH")


# --- loading the declarations -----------------------------------------------

def load(proof_dir: pathlib.Path = PROOF_DIR, known: set[str] | None = None) -> tuple[list[Proof], list[Unproven]]:
    """Every declared proof and unproven requirement; ProofError on a malformed entry."""
    proofs: list[Proof] = []
    unproven: list[Unproven] = []
    paths = [proof_dir] if proof_dir.is_file() else sorted(proof_dir.glob("*.toml"))
    for path in paths:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ProofError(f"{path.name}: not valid TOML: {e}") from None
        for n, entry in enumerate(data.get("proof", []), 1):
            where = f"{path.name} proof #{n}"
            proof = _proof_entry(entry, where)
            if known is not None and proof.requirement not in known:
                raise ProofError(f"{where}: no requirement '{proof.requirement}' in the catalog")
            proofs.append(proof)
        for n, entry in enumerate(data.get("unproven", []), 1):
            where = f"{path.name} unproven #{n}"
            if not isinstance(entry.get("requirement"), str) or not str(entry.get("reason", "")).strip():
                raise ProofError(f"{where}: needs requirement and a non-empty reason")
            unproven.append(Unproven(entry["requirement"], entry["reason"].strip()))
    return proofs, unproven


def _proof_entry(entry: dict, where: str) -> Proof:
    for key in ("requirement", "breaker", "kind", "expect"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ProofError(f"{where}: '{key}' missing or not a string")
    if entry["kind"] not in KINDS:
        raise ProofError(f"{where}: kind '{entry['kind']}' is not one of {', '.join(KINDS)}")
    breaker_command(entry["breaker"], pathlib.Path("/"))  # raises on a malformed breaker
    try:
        re.compile(entry["expect"])
    except re.error as e:
        raise ProofError(f"{where}: expect is not a regular expression: {e}") from None
    if SETUP_EXPECTATION.search(entry["expect"]) and entry["kind"] != "refusal":
        raise ProofError(f"{where}: expect names a setup step; only a refusal of the call under test may")
    return Proof(entry["requirement"], entry["breaker"], entry["kind"], entry["expect"], where)


# --- which tests name a requirement ------------------------------------------

def listed_requirements(binary: pathlib.Path) -> dict[str, list[str]]:
    """Test full name -> requirement ids, from the binary's --shmconform_list."""
    try:
        return {t.name: list(t.requirements) for t in testlist.list_tests(binary)}
    except testlist.ListingError as e:
        raise ProofError(str(e)) from None


# --- running -------------------------------------------------------------------

@dataclasses.dataclass
class Context:
    build_dir: pathlib.Path
    work_dir: pathlib.Path
    proof_dir: pathlib.Path = PROOF_DIR
    uml: bool = False  # run uml:PATCH proofs (builds the kernel once, minutes)

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
            passing = [n for n in names if self.baseline[binary].get(n) and self.baseline[binary][n].status == "pass"]
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
    name = _UML_RE.match(proof.breaker).group(1)
    try:
        kernel = proof_uml.build(name)
    except proof_uml.UmlError as e:
        return Verdict(proof, False, str(e))
    notes = []
    for binary, names in suite.tests.get(proof.requirement, {}).items():
        stock, why = proof_uml.run(proof_uml.STOCK_KERNEL, suite.paths[binary], ":".join(names), ctx.work_dir)
        passing = [n for n in names if stock and stock.get(n) and stock[n].status == "pass"]
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
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda p: check(ctx, suite, p), proofs))


# --- the figure -----------------------------------------------------------------

def figure_lines(requirements: list[str], verdicts: list[Verdict] | None, proofs: list[Proof],
                 unproven: list[Unproven]) -> tuple[int, list[str]]:
    """(number proven, report lines): the figure, the holding proofs by kind, then each
    requirement without a proof and why."""
    if verdicts is None:
        holding = [p for p in proofs if not p.breaker.startswith("uml:")]
        broken: dict[str, str] = {}
    else:
        holding = [v.proof for v in verdicts if v.ok]
        broken = {v.proof.requirement: f"declared proof {v.proof.breaker} did not hold: {v.detail}"
                  for v in verdicts if not v.ok and not v.skipped}
    proven = {p.requirement for p in holding}
    reasons = {u.requirement: u.reason for u in unproven}
    total = len(requirements)
    n = sum(1 for r in requirements if r in proven)
    kinds: dict[str, int] = {}
    for p in holding:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    lines = [f"requirements with an automated proof of failure: {n}/{total} ({100.0 * n / max(total, 1):.1f}%)"
             + ("" if verdicts is not None else " (declared, not run: drop --declared to run them)"),
             "  holding proofs by kind: " + ", ".join(f"{kinds[k]} {k}" for k in KINDS if k in kinds)]
    skipped = [v for v in verdicts or [] if v.skipped]
    if skipped:
        lines.append(f"  not run: {len(skipped)} uml proofs (./shmconform proof --uml: builds a patched UML kernel once)")
    missing = [r for r in requirements if r not in proven]
    if missing:
        lines.append(f"without a proof ({len(missing)}):")
    for r in missing:
        lines.append(f"  {r:<44} {broken.get(r) or reasons.get(r) or 'no proof declared'}")
    return n, lines


# --- discovery ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Call:
    pid: int
    tracee_index: int  # among this tracee's calls of `name`: strace's when=
    name: str
    args: str
    ret: str
    errno: str


_CALL_RE = re.compile(r"^(\d+) +(\w+)\((.*)$")
_RESUMED_RE = re.compile(r"^(\d+) +<\.\.\. (\w+) resumed>(.*)$")
_RESULT_RE = re.compile(r"\) += (-?\w+)(?: (E[A-Z0-9]+) )?")


def parse_trace(text: str) -> list[Call]:
    """strace -f output -> calls in entry order, counted per tracee and call name."""
    calls: list[dict] = []
    pending: dict[tuple[int, str], dict] = {}
    counts: dict[tuple[int, str], int] = {}
    for line in text.splitlines():
        m = _RESUMED_RE.match(line)
        if m:
            call = pending.pop((int(m.group(1)), m.group(2)), None)
            r = _RESULT_RE.search(m.group(3))
            if call is not None and r:
                call.update(ret=r.group(1), errno=r.group(2) or "")
            continue
        m = _CALL_RE.match(line)
        if not m:
            continue
        pid, name, rest = int(m.group(1)), m.group(2), m.group(3)
        counts[(pid, name)] = counts.get((pid, name), 0) + 1
        call = {"pid": pid, "tracee_index": counts[(pid, name)], "name": name, "args": rest, "ret": "?", "errno": ""}
        calls.append(call)
        if rest.endswith("<unfinished ...>"):
            pending[(pid, name)] = call
        else:
            r = _RESULT_RE.search(rest)
            if r:
                call.update(ret=r.group(1), errno=r.group(2) or "")
    return [Call(**c) for c in calls]


def trace(ctx: Context, binary: pathlib.Path, gtest_filter: str) -> list[Call]:
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="trace.", dir=ctx.work_dir)
    os.close(fd)
    out = pathlib.Path(name)
    try:
        run_binary(ctx, binary, gtest_filter, ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "signal=none",
                                               "-e", "trace=" + ",".join(TRACED), "-o", str(out)], {})
        return parse_trace(out.read_text(errors="replace"))
    finally:
        out.unlink(missing_ok=True)


def candidates(requirement: str, calls: list[Call], startup: dict[str, int]) -> list[tuple[str, str]]:
    """(breaker, kind) to try for a requirement, most meaningful first. `startup` counts the
    main tracee's calls before any test runs (the loader's), which are never aimed at."""
    interface = requirement.split(".")[1] if "." in requirement else ""
    own = set(INTERFACE_CALLS.get(interface, ()))
    main_pid = calls[0].pid if calls else 0
    seen: set[str] = set()
    out: list[tuple[int, int, str, str]] = []

    def add(rank: int, breaker: str, kind: str, c: Call, position: int) -> None:
        if breaker not in seen:
            seen.add(breaker)
            # the interface's own calls first, later calls (the one under test, after setup) first
            out.append((rank * 2 + (0 if c.name in own else 1), -position, breaker, kind))

    for position, c in enumerate(calls):
        if c.pid == main_pid and c.tracee_index <= startup.get(c.name, 0):
            continue
        at = f"strace:{c.name}:%s:when={c.tracee_index}"
        if c.errno:
            if c.name not in ("execve",):
                add(0, at % "retval=0", "fake-success", c, position)
            wrong = "EACCES" if c.errno == "EINVAL" else "EINVAL"
            add(1, at % f"error={wrong}", "wrong-errno", c, position)
        elif c.name in NOOP_ABLE:
            add(2, at % "retval=0", "no-op", c, position)
            if c.name in own:
                add(3, at % "error=EINVAL", "refusal", c, position)
        elif c.name in REFUSABLE and (c.name in own or not own):
            add(3, at % "error=ENOMEM", "refusal", c, position)
    for n, mutant in enumerate(INTERFACE_MUTANTS.get(interface, ())):
        out.append((4.5, n, f"mutant:{mutant}", "mutant"))  # after the interface's own no-ops
    out.sort()
    return [(b, k) for _, _, b, k in out]


_GENERIC = re.compile(r"^(Expected: .*|Failed|Which is: .*|Actual: .*)$")
_SPECIAL = re.compile(r"[.^$*+?()\[\]{}|\\]")


def _literal(text: str) -> str:
    """A regex matching text, numbers and addresses generalised (they change between runs)."""
    parts = re.split(r"(0x[0-9a-f]+|-?\d+)", text[:120])
    return "".join(_SPECIAL.sub(lambda m: "\\" + m.group(0), s) if i % 2 == 0
                   else (r"0x[0-9a-f]+" if s.startswith("0x") else r"-?\d+") for i, s in enumerate(parts))


def expectation_pattern(message: str) -> str:
    """A regex for the checked expectation in a gtest failure message (the expression
    checked, not the values seen), so a proof shows what its breaker is aimed at."""
    child = re.search(r"child check failed: [^:\n]+:\d+: (.+)", message)
    if child:  # a check made in a child process: the expression it checked, not what it saw
        checked = re.split(r", got | \(of type ", child.group(1).strip())[0]
        return r"child check failed: \S+: " + _literal(checked)
    lines = [ln.strip() for ln in message.splitlines()[1:] if ln.strip()]  # line 0 is file:line
    for i, line in enumerate(lines):
        if line.startswith("Value of: "):
            return _literal(line)
        if line == "Expected equality of these values:" and i + 1 < len(lines):
            rest = [ln for ln in lines[i + 2:] if not ln.startswith("Which is: ")]
            rhs = rf"[\s\S]*?\n\s*{_literal(rest[0])}" if rest else ""
            return rf"Expected equality of these values:\n\s*{_literal(lines[i + 1])}{rhs}"
        if line.startswith("Expected: (") and ", actual: " in line:
            return _literal(line.split(", actual: ")[0])
    return _literal(next((ln for ln in lines if not _GENERIC.match(ln)), lines[0] if lines else ""))


def discover(ctx: Context, suite: Suite, requirement: str, startup: dict[str, dict[str, int]],
             max_tries: int = 24, accept_setup: bool = False) -> Proof | str:
    """A proof that holds for the requirement, or why none was found."""
    runnable = suite.runnable(requirement)
    if not runnable:
        return suite.why_not_runnable(requirement)
    binary, names = next(iter(runnable.items()))
    calls = trace(ctx, suite.paths[binary], ":".join(names))
    unstable = unstable_calls(calls, trace(ctx, suite.paths[binary], ":".join(names)))
    tried = 0
    for breaker, kind in candidates(requirement, calls, startup.get(binary, {})):
        if breaker.startswith("strace:") and breaker.split(":")[1] in unstable:
            continue  # when= cannot aim at a call whose number changes from run to run
        if kind != "mutant":  # few, and aimed by design: always tried
            if tried >= max_tries:
                continue
            tried += 1
        prefix, env = breaker_command(breaker, ctx.shim)
        cases, _ = run_binary(ctx, suite.paths[binary], ":".join(names), prefix, env)
        if cases is None:
            continue
        failed = [c for n in names if (c := cases.get(n)) and c.status == "fail"]
        patterns = [expectation_pattern(c.message) for c in failed]
        aimed = [p for p in patterns if not SETUP_EXPECTATION.search(p) or (accept_setup and kind == "refusal")]
        if aimed:
            proof = Proof(requirement, breaker, kind, aimed[0])
            # holds three times with its pattern: the aim does not depend on timing
            if all(check(ctx, suite, proof).ok for _ in range(2)):
                return proof
    return f"no injection into its tests' system calls made them fail ({tried} tried)"


def unstable_calls(first: list[Call], second: list[Call]) -> set[str]:
    """Names of the calls made a different number of times by some tracee in two runs
    (a bounded wait, a retry loop): tracees compared in order of appearance."""
    def per_tracee(calls: list[Call]) -> list[dict[str, int]]:
        order: dict[int, dict[str, int]] = {}
        for c in calls:
            order.setdefault(c.pid, {})[c.name] = c.tracee_index
        return list(order.values())
    a, b = per_tracee(first), per_tracee(second)
    names = {c.name for c in first + second}
    if len(a) != len(b):
        return names
    return {n for n in names if any(x.get(n) != y.get(n) for x, y in zip(a, b))}


def startup_counts(ctx: Context, suite: Suite) -> dict[str, dict[str, int]]:
    """Per binary: how many calls of each traced name the main tracee makes before any test."""
    out = {}
    for name, path in suite.paths.items():
        calls = trace(ctx, path, "-*")
        main = calls[0].pid if calls else 0
        counts: dict[str, int] = {}
        for c in calls:
            if str(ctx.work_dir) in c.args:  # gtest's report (in the scratch directory) is written after the tests
                break
            if c.pid == main:
                counts[c.name] = c.tracee_index
        out[name] = counts
    return out


CURATED = "curated.toml"
GENERATED_HEADER = ("# Proofs of failure found by `./shmconform proof --discover --write` (harness/proof.py):\n"
                    "# regenerate after the tests change; hand-made proofs go in curated.toml, never here.\n\n")


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


def write_generated(proof_dir: pathlib.Path, found: dict[str, Proof | str], reqs: dict, hand: set[str]) -> None:
    """Rewrite conformance/proofs/<area>.toml: the new results, and the old entries of the others."""
    entries: dict[str, str] = {}
    for path in sorted(proof_dir.glob("*.toml")):
        if path.name in (CURATED, "floor.toml"):
            continue
        try:
            old_proofs, old_unproven = load(path)
        except ProofError:
            continue  # a stale generated file: what is asked now replaces it
        entries.update({p.requirement: toml_entry(p) for p in old_proofs})
        entries.update({u.requirement: unproven_entry(u.requirement, u.reason) for u in old_unproven})
    for rid, result in found.items():
        entries[rid] = toml_entry(result) if isinstance(result, Proof) else unproven_entry(rid, result)
    by_area: dict[str, list[str]] = {}
    for rid, req in reqs.items():  # catalog order
        if rid in entries and rid not in hand:
            by_area.setdefault(req.area, []).append(entries[rid])
    for area, texts in by_area.items():
        (proof_dir / f"{area}.toml").write_text(GENERATED_HEADER + "\n".join(texts), encoding="utf-8")


def unproven_entry(rid: str, reason: str) -> str:
    return f'[[unproven]]\nrequirement = "{rid}"\nreason = {json.dumps(reason)}\n'


def toml_entry(proof: Proof) -> str:
    return (f'[[proof]]\nrequirement = "{proof.requirement}"\nbreaker = "{proof.breaker}"\n'
            f'kind = "{proof.kind}"\nexpect = {json.dumps(proof.expect)}\n')


def requirement_ids() -> list[str]:
    return list(catalog.load())


# --- the verb ------------------------------------------------------------------------

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
        ctx = Context(build, pathlib.Path(work), uml=args.uml)
        suite = Suite.gather(ctx)
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
