"""Discovery (./shmconform proof --discover): trace a requirement's tests with strace and try the
breakers most likely to break what they check, aimed with when= at one call, until one holds; the
proof's `expect` is the checked expression of the failure it caused."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import tempfile

from harness.proof.declarations import SETUP_EXPECTATION, Proof, breaker_command
from harness.proof.runner import Context, Suite, check, run_binary

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
