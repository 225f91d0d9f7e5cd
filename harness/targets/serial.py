"""How a QEMU guest's round script sends files back over serial ports: the
guest side (shell functions for the round script's prologue) and the host
side that turns the captured streams back into result files."""
from __future__ import annotations

import base64
import pathlib

# Guest side: ttyS1 carries whole result files (base64 between markers), ttyS2
# a live copy of each invocation's output (see harness/script.py, $LIVE). A
# board without spare UARTs uses two virtio consoles instead (guest_prologue).
def guest_prologue(results: str = "/dev/ttyS1", live: str = "/dev/ttyS2") -> str:
    return "\n".join([
        f"stty -F {results} raw -echo 2>/dev/null; stty -F {live} raw -echo 2>/dev/null",
        f"LIVE={live}",
        "emit() { [ -f \"$R/$1\" ] || return 0; { echo \"@@SHMCONFORM-FILE $1\"; base64 \"$R/$1\";"
        f" echo \"@@SHMCONFORM-END $1\"; }} > {results}; }}",
    ])


GUEST_PROLOGUE = guest_prologue()


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and not name.startswith(".")


def unframe(data: bytes, out: pathlib.Path) -> None:
    """Files the guest sent over the results serial port (base64 between markers)."""
    name, chunks = None, []
    for raw in data.replace(b"\r", b"").split(b"\n"):
        line = raw.decode("ascii", errors="replace")
        if line.startswith("@@SHMCONFORM-FILE "):
            name, chunks = line.split(" ", 1)[1].strip(), []
        elif line.startswith("@@SHMCONFORM-END ") and name:
            if _safe_name(name):
                try:
                    (out / name).write_bytes(base64.b64decode("".join(chunks)))
                except ValueError:
                    pass
            name = None
        elif name is not None:
            chunks.append(line.strip())


def unlive(data: bytes, out: pathlib.Path) -> None:
    """The live copy of each invocation's output: the only record of one a panic cut short."""
    for section in data.replace(b"\r", b"").split(b"@@SHMCONFORM-LIVE ")[1:]:
        head, _, body = section.partition(b"\n")
        name = head.decode("ascii", errors="replace").strip()
        if _safe_name(name) and not (out / f"{name}.rc").exists():
            (out / f"{name}.out").write_bytes(body)
