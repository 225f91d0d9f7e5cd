"""The in-container agent (agent.c), compiled static into the cache once per source change."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import threading

SOURCE = pathlib.Path(__file__).resolve().parent / "agent.c"
NAME = "shmconform-oci-agent"
_lock = threading.Lock()


class AgentError(Exception):
    """The agent cannot be built; one line."""


def agent_binary(cache_dir: pathlib.Path) -> pathlib.Path:
    out = cache_dir / "probe" / NAME
    with _lock:
        if out.exists() and out.stat().st_mtime >= SOURCE.stat().st_mtime:
            return out
        if not shutil.which("gcc"):
            raise AgentError("gcc is not installed: cannot build the container agent")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        r = subprocess.run(["gcc", "-static", "-O2", "-o", str(tmp), str(SOURCE)], capture_output=True, text=True)
        if r.returncode != 0:
            raise AgentError(f"building the container agent failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        tmp.replace(out)
        return out
