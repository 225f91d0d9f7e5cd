"""GoogleTest names as LAVA test case names, and back.

LAVA takes a case name as one word on a shell command line and shows it in
URLs; gtest names hold '/' (parameterised tests: 'Sizes/ShmgetSizeTest.Rejects/3').
Every character outside [A-Za-z0-9_.] becomes '-' and its two hex digits, so
'-' itself (never in a gtest name) is only ever the escape and the mapping
reverses exactly. ci/lava/run-suite.sh applies the same rule in awk.
"""
from __future__ import annotations

import re

_KEEP = re.compile(r"[A-Za-z0-9_.]")
_ESCAPE = re.compile(r"-([0-9A-F]{2})")
VALID = re.compile(r"(?:[A-Za-z0-9_.]|-[0-9A-F]{2})+")


def to_case(name: str) -> str:
    """'Sizes/ShmgetSizeTest.Rejects/3' -> 'Sizes-2FShmgetSizeTest.Rejects-2F3'."""
    out = []
    for ch in name:
        if _KEEP.fullmatch(ch):
            out.append(ch)
        else:
            out.extend(f"-{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def from_case(case: str) -> str:
    """The gtest name of a case name written by to_case; ValueError for anything else."""
    if not VALID.fullmatch(case):
        raise ValueError(f"'{case}' is not a shmconform case name")
    raw = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(case):
        raw += case[pos:m.start()].encode()
        raw.append(int(m.group(1), 16))
        pos = m.end()
    raw += case[pos:].encode()
    return raw.decode("utf-8")
