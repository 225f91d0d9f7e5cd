"""Incidents: what went wrong with a target's kernel during a round, as the
target reports it (Target.incidents), so the engine never guesses by kind.

The round script (harness/script.py) writes a marker line "shmconform: begin ID"
into the kernel log (/dev/kmsg, when writable) before each invocation, and when
/proc/sys/kernel/tainted changed during one: ID.tainted ("BEFORE AFTER"),
ID.taint_at (the size of ID.out when the watchdog first saw the change, so the
test running then can be named) and ID.klog (the kernel log).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re

PANIC_RE = re.compile(r"Kernel panic|Oops|BUG:|WARNING:|general protection fault|Call Trace|"
                      r"Unable to handle kernel|kernel BUG at")
MARKER = "shmconform: begin "      # the round script's kernel-log line before each invocation
# A binary may mark each test's start in the kernel log too ("shmconform: test Suite.Name"):
# then the test running at a warning is known exactly, else as the watchdog saw it.
TEST_MARKER_RE = re.compile(r"shmconform: test (\S+)\s*$")

# The kernel's taint flags (Documentation/admin-guide/tainted-kernels.rst): bit -> (letter, meaning).
TAINT_FLAGS = {
    0: ("P", "proprietary module was loaded"),
    1: ("F", "module was force loaded"),
    2: ("S", "kernel running on an out of specification system"),
    3: ("R", "module was force unloaded"),
    4: ("M", "processor reported a Machine Check Exception"),
    5: ("B", "bad page referenced or some unexpected page flags"),
    6: ("U", "taint requested by userspace application"),
    7: ("D", "kernel died recently, i.e. there was an OOPS or BUG"),
    8: ("A", "an ACPI table was overridden by user"),
    9: ("W", "kernel issued warning"),
    10: ("C", "staging driver was loaded"),
    11: ("I", "workaround for bug in platform firmware applied"),
    12: ("O", "externally-built (out-of-tree) module was loaded"),
    13: ("E", "unsigned module was loaded"),
    14: ("L", "soft lockup occurred"),
    15: ("K", "kernel has been live patched"),
    16: ("X", "auxiliary taint, defined for and used by distros"),
    17: ("T", "kernel was built with the struct randomization plugin"),
    18: ("N", "an in-kernel test has been run"),
}
LOG_LINES = 60                     # kernel log lines kept per incident


@dataclasses.dataclass
class Incident:
    kind: str                      # "taint", "kernel-log" (panic/oops/BUG/WARNING on the console), "died"
    summary: str                   # one line
    invocation: str | None = None  # the round script invocation it happened in, when known
    kernel_log: str = ""           # the relevant kernel log or console lines
    output_offset: int | None = None  # bytes of ID.out written when it was noticed (names the running test)
    test: str | None = None        # the test the kernel log names as running at the first warning


def decode_taint(value: int) -> str:
    """'512' -> 'W (kernel issued warning)'; unknown bits by number."""
    parts = []
    for bit in range(max(value.bit_length(), 1)):
        if value >> bit & 1:
            letter, meaning = TAINT_FLAGS.get(bit, (f"bit {bit}", "unknown taint flag"))
            parts.append(f"{letter} ({meaning})")
    return ", ".join(parts) or "none"


def _since_marker(log: str, invocation: str) -> tuple[list[str], int | None]:
    """The kernel log lines from the invocation's marker on (all without one), and
    the index of the first panic/oops/BUG/WARNING among them."""
    lines = log.splitlines()
    start = max((i for i, ln in enumerate(lines) if ln.rstrip().endswith(MARKER + invocation)), default=-1)
    lines = lines[start + 1:]
    return lines, next((i for i, ln in enumerate(lines) if PANIC_RE.search(ln)), None)


def log_since_marker(log: str, invocation: str) -> str:
    """The kernel log of the invocation, cut to the lines around the first panic/oops/BUG/WARNING."""
    lines, first = _since_marker(log, invocation)
    if first is not None:
        lines = lines[max(0, first - 5):]
    return "\n".join(lines[:LOG_LINES])


def test_in_log(log: str, invocation: str) -> str | None:
    """The test the binary marked last before the first warning of the invocation."""
    lines, first = _since_marker(log, invocation)
    for ln in reversed(lines[:first if first is not None else len(lines)]):
        m = TEST_MARKER_RE.search(ln)
        if m:
            return m.group(1)
    return None


def _read(path: pathlib.Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def from_round_files(results: pathlib.Path, invocation_ids: list[str]) -> list[Incident]:
    """Taint changes the round script recorded, one incident per invocation."""
    found = []
    for iid in invocation_ids:
        text = _read(results / f"{iid}.tainted")
        if text is None:
            continue
        words = text.split()
        try:
            before, after = (int(words[0]), int(words[-1])) if words else (0, 0)
        except ValueError:
            before, after = 0, 0
        new = after & ~before
        summary = (f"kernel taint went from {before} to {after} while {iid} ran: "
                   f"{decode_taint(new) if new else decode_taint(after)}")
        at = (_read(results / f"{iid}.taint_at") or "").strip()
        log = _read(results / f"{iid}.klog") or ""
        found.append(Incident("taint", summary, iid, log_since_marker(log, iid), int(at) if at.isdigit() else None,
                              test_in_log(log, iid)))
    return found


def from_console(console: str) -> list[Incident]:
    """Panic/oops/BUG/WARNING text on a VM's console."""
    lines = console.splitlines()
    first = next((i for i, ln in enumerate(lines) if PANIC_RE.search(ln)), None)
    if first is None:
        return []
    return [Incident("kernel-log", f"the console shows: {lines[first].strip()[:160]}",
                     kernel_log="\n".join(lines[max(0, first - 5):first + LOG_LINES]))]
