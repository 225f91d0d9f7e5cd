"""What an oci: target spec asks for.

    oci:RUNTIME[,OPTION...]      RUNTIME: runc, crun, runsc, or the absolute path of an OCI runtime
    gvisor[:OPTION,...]          the same as oci:runsc (gVisor, ptrace platform unless platform= says else)

OPTION (each KEY=VALUE, comma-separated; cap-add may repeat or join names with +):
    ipc=private|shareable|host   podman's --ipc (default private)
    cap-add=CAP[+CAP...]         extra capabilities (IPC_OWNER, CAP_IPC_OWNER, SYS_ADMIN, ...)
    cap-drop=CAP[+CAP...]        capabilities taken away
    shm-size=SIZE                /dev/shm size: a number with b, k, m or g (podman's --shm-size)
    sysctl-rw=yes                /proc/sys writable (podman's --security-opt unmask=/proc/sys)
    platform=NAME                gVisor's platform (runsc only; default ptrace)

Example: oci:crun,ipc=host,cap-add=IPC_OWNER,shm-size=256m
"""
from __future__ import annotations

import dataclasses
import os
import re

RUNTIMES = ("runc", "crun", "runsc")
IPC_MODES = ("private", "shareable", "host")
OPTIONS = ("ipc", "cap-add", "cap-drop", "shm-size", "sysctl-rw", "platform")
_CAP = re.compile(r"(CAP_)?[A-Z_]+")
_SIZE = re.compile(r"[0-9]+[bkmg]?")


class OptionError(ValueError):
    """The spec makes no sense; the message is one line for the user."""


@dataclasses.dataclass
class OciOptions:
    runtime: str                                     # runc, crun, runsc or an absolute path
    ipc: str = "private"
    cap_add: list[str] = dataclasses.field(default_factory=list)   # CAP_* names
    cap_drop: list[str] = dataclasses.field(default_factory=list)
    shm_size: str | None = None
    sysctl_rw: bool = False
    platform: str | None = None                      # gVisor only

    @property
    def runtime_name(self) -> str:
        """runc, crun or runsc for the known runtimes (a path's file name otherwise)."""
        return os.path.basename(self.runtime)

    @property
    def is_gvisor(self) -> bool:
        return self.runtime_name == "runsc"

    def profile(self) -> dict:
        """What the spec asked of the container, for the report's target card."""
        out = {"oci_runtime": self.runtime, "ipc_mode": self.ipc,
               "cap_add": ",".join(self.cap_add) or "none", "shm_size_option": self.shm_size or "podman default"}
        if self.cap_drop:
            out["cap_drop"] = ",".join(self.cap_drop)
        if self.sysctl_rw:
            out["proc_sys_unmasked"] = "yes"
        if self.is_gvisor:
            out["gvisor_platform"] = self.platform
        return out


def _caps(value: str, key: str) -> list[str]:
    caps = []
    for name in value.split("+"):
        name = name.strip().upper()
        if not _CAP.fullmatch(name):
            raise OptionError(f"{key}: '{name}' is not a capability name (e.g. IPC_OWNER)")
        caps.append(name if name.startswith("CAP_") else f"CAP_{name}")
    return caps


def parse(arg: str, *, family: str = "oci") -> OciOptions:
    """OciOptions for the text after 'oci:' (or after 'gvisor:' with family='gvisor')."""
    parts = [p.strip() for p in arg.split(",")] if arg.strip() else []
    if family == "gvisor":
        runtime = "runsc"
    else:
        if not parts or not parts[0] or "=" in parts[0]:
            raise OptionError("oci: name a runtime first: oci:runc, oci:crun, oci:runsc or oci:/path/to/runtime")
        runtime = parts.pop(0)
        if runtime not in RUNTIMES and not runtime.startswith("/"):
            raise OptionError(f"oci: unknown runtime '{runtime}' (use {', '.join(RUNTIMES)} or an absolute path)")
    opts = OciOptions(runtime=runtime)
    for part in parts:
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if key not in OPTIONS:
            raise OptionError(f"{family}: unknown option '{part}' (use {', '.join(o + '=' for o in OPTIONS)})")
        if not eq or not value:
            raise OptionError(f"{family}: option '{key}' needs a value ({key}=...)")
        if key == "ipc":
            if value not in IPC_MODES:
                raise OptionError(f"{family}: ipc={value}: use one of {', '.join(IPC_MODES)}")
            opts.ipc = value
        elif key == "cap-add":
            opts.cap_add += [c for c in _caps(value, key) if c not in opts.cap_add]
        elif key == "cap-drop":
            opts.cap_drop += [c for c in _caps(value, key) if c not in opts.cap_drop]
        elif key == "shm-size":
            if not _SIZE.fullmatch(value.lower()):
                raise OptionError(f"{family}: shm-size={value}: use a number with b, k, m or g (e.g. 256m)")
            opts.shm_size = value.lower()
        elif key == "sysctl-rw":
            if value not in ("yes", "no"):
                raise OptionError(f"{family}: sysctl-rw={value}: use yes or no")
            opts.sysctl_rw = value == "yes"
        elif key == "platform":
            opts.platform = value
    if opts.platform and not opts.is_gvisor:
        raise OptionError(f"{family}: platform= is a gVisor (runsc) option")
    if opts.is_gvisor and not opts.platform:
        # The ptrace platform works everywhere; KVM needs /dev/kvm and systrap a newer runsc.
        opts.platform = "ptrace"
    return opts
