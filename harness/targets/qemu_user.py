"""qemu-user:ARCH: the cross-built binaries run on this kernel under qemu-user."""
from __future__ import annotations

import os
import shutil

from harness.targets.base import TargetError
from harness.targets.local import HostTarget
from harness.targets.spec import family

ARCHES = {  # qemu-user architecture -> (cmake preset, qemu binary)
    "aarch64": ("aarch64", "qemu-aarch64"),
    "armhf": ("armhf", "qemu-arm"),
    "riscv64": ("riscv64", "qemu-riscv64"),
}


@family("qemu-user", "qemu-user:ARCH",
         "aarch64, armhf, riscv64 static cross builds under qemu-user",
         takes_arg=True, order=70)
class QemuUserTarget(HostTarget):
    kind = "qemu-user"

    def __init__(self, spec, arch):
        super().__init__(spec)
        if arch not in ARCHES:
            raise TargetError(f"qemu-user: unknown architecture '{arch}' (choose from {', '.join(ARCHES)})")
        self.arch = arch
        self.preset, self.prefix = ARCHES[arch]
        self.virtualization = f"qemu-user ({arch} on {os.uname().machine})"

    def prepare(self, ctx):
        if not shutil.which(self.prefix):
            raise TargetError(f"qemu-user: {self.prefix} is not installed (apt-get install qemu-user)")
        super().prepare(ctx)
