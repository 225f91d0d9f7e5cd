"""Why a sandbox or container could not start, in one line that names the cause.

Each runtime reports a start failure in its own words, often far from the
cause (gVisor's "cannot read client sync file ... EOF" when its sandbox process,
which runs as an unprivileged user, cannot enter a directory it was given).
cause() turns the runtime's last words plus what can be checked on the host
into one line."""
from __future__ import annotations

import os
import pathlib
import stat

# (text the runtime prints, what it means); the first match wins.
_KNOWN = [
    ("cgroups in hybrid mode not supported",
     "crun refuses this host's hybrid cgroup layout (v1 controllers plus /sys/fs/cgroup/unified)"),
    ("unknown capability",
     "the runtime does not know a capability podman passed (gVisor rejects --privileged: give cap-add= names)"),
    ("setrlimit", "an rlimit above this user's hard limit (podman's nofile/nproc defaults need CAP_SYS_RESOURCE)"),
    ("root network namespace", "runsc refuses to run in the root network namespace (give it network=none)"),
    ("cannot set up a platform", "gVisor cannot use its platform here (ptrace needs PTRACE, kvm needs /dev/kvm)"),
    ("/dev/kvm", "gVisor's kvm platform needs a usable /dev/kvm (use platform=ptrace)"),
    ("no such file or directory: OCI runtime", "the OCI runtime binary is missing"),
    ("container creation timeout",
     "the runtime never reported the container created (a sandbox hanging at start: for gVisor, its platform)"),
    ("conmon bytes", "the runtime answered conmon with nothing it understands (is it an OCI runtime?)"),
    ("executable file not found", "the OCI runtime or the command is not on PATH"),
]


def closed_ancestor(path: pathlib.Path) -> pathlib.Path | None:
    """The first directory on the way to path that users other than its owner cannot
    enter (no o+x), as `mktemp -d` makes them; None when every one is open."""
    p = pathlib.Path(os.path.abspath(path))
    for d in [*reversed(p.parents), p]:
        try:
            st = d.stat()
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode) and not st.st_mode & stat.S_IXOTH:
            return d
    return None


def cause(output: str, *, runtime: str, paths: dict[str, pathlib.Path] | None = None) -> str:
    """One line: what the runtime said and, when known, why."""
    lines = [ln.strip() for ln in (output or "").splitlines() if ln.strip() and "level=warning" not in ln]
    said = lines[-1] if lines else "no output"
    if said.startswith("Error: "):
        said = said[len("Error: "):]
    said = "".join(c if c.isprintable() else "?" for c in said)[:240]
    for needle, meaning in _KNOWN:
        if needle.lower() in (output or "").lower():
            return f"{runtime} cannot start: {meaning} ({said})"
    if "cannot create sandbox" in (output or "") or "sandbox to start" in (output or ""):
        for role, p in (paths or {}).items():
            closed = closed_ancestor(p)
            if closed is not None:
                mode = stat.S_IMODE(closed.stat().st_mode)
                return (f"{runtime} cannot start its sandbox: {role} {p} is inside {closed} (mode {mode:04o}), "
                        f"which gVisor's unprivileged sandbox process cannot enter; use a directory "
                        f"other users can traverse (chmod o+x {closed}) ({said})")
    return f"{runtime} cannot start: {said}"
