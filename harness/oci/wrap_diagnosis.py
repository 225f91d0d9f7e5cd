"""wrap:"PREFIX" targets whose wrapper is a sandbox that did not start: one line
naming the cause instead of an error per binary."""
from __future__ import annotations

import pathlib

from harness.oci import diagnose

# What a sandboxing wrapper prints when it could not start at all.
_NEVER_STARTED = ("cannot create sandbox", "waiting for sandbox to start")


def raise_if_never_started(target, invocations, outcome, round_dir: pathlib.Path) -> None:
    """TargetError when every invocation of the round only printed a sandbox start failure."""
    from harness.targets.base import TargetError  # noqa: PLC0415 - keeps harness.oci free of import cycles

    texts = []
    for inv in invocations:
        try:
            texts.append((outcome.results / f"{inv.id}.out").read_text(errors="replace"))
        except OSError:
            return
    if not texts or not all(any(n in t for n in _NEVER_STARTED) and "[ RUN" not in t for t in texts):
        return
    raise TargetError(diagnose.cause(texts[0], runtime=f"{target.name}: {target.prefix.split()[0]}",
                                     paths={"TMPDIR (the round's scratch directory)": round_dir / "scratch",
                                            "the round directory": round_dir}))
