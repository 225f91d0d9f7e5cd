"""Bringing a binary's JSON report back on its stdout, for wrappers whose file
system the host does not see (`runsc do` writes into a throw-away overlay,
`docker exec` into the container). The wrapped command becomes a small sh
program that runs the binary and then prints the report between markers, base64;
the host takes it out of the output when the file itself never arrived."""
from __future__ import annotations

import base64
import dataclasses
import pathlib
import re

from harness.script import Invocation

BEGIN, END = "@@SHMCONFORM-REPORT-BEGIN", "@@SHMCONFORM-REPORT-END"
# Runs "$@", then prints file $1 framed; keeps the binary's exit status.
_PROGRAM = (f'f=$1; shift; "$@"; rc=$?; if [ -f "$f" ]; then echo; echo {BEGIN}; base64 "$f"; echo {END}; fi; '
            'exit $rc')
_FRAME = re.compile(rf"\n?{BEGIN}\n(.*?)\n{END}\n?", re.S)


def report_path(argv: list[str]) -> str | None:
    """The --gtest_output=json:PATH of argv, if any."""
    for a in argv:
        if a.startswith("--gtest_output=json:"):
            return a.split(":", 1)[1]
    return None


def frame(inv: Invocation) -> Invocation:
    """inv, made to print its JSON report on stdout as well (unchanged when it writes none)."""
    path = report_path(inv.argv)
    if path is None or inv.split_stderr:
        return inv
    return dataclasses.replace(inv, argv=["/bin/sh", "-c", _PROGRAM, "sh", path, *inv.argv])


def unframe(results: pathlib.Path, inv_id: str) -> bool:
    """Move a framed report out of ID.out into ID.json when ID.json is missing;
    True when it did. The frame is removed from the output either way."""
    out = results / f"{inv_id}.out"
    try:
        text = out.read_text(errors="replace")
    except OSError:
        return False
    m = _FRAME.search(text)
    if not m:
        return False
    out.write_text(text[:m.start()] + "\n" + text[m.end():])
    target = results / f"{inv_id}.json"
    if target.exists():
        return False
    try:
        target.write_bytes(base64.b64decode("".join(m.group(1).split()), validate=True))
    except ValueError:
        return False
    return True
