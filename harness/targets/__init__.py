"""Targets: where the suite runs. One module per family (local.py: local, ns,
bwrap, wrap; uml.py; qemu.py; qemu_user.py; ssh.py), each registering the
--target kinds it understands with spec.family; the interface is in base.py,
child processes in processes.py.

Spec strings (--target): local, ns, bwrap, wrap:"PREFIX", uml[:KERNEL],
qemu:KERNEL-OR-DEBIAN-PACKAGE, qemu-user:ARCH, ssh:USER@HOST[:PORT].
"""
from __future__ import annotations

import importlib
import pkgutil

from harness.targets.base import Context, RoundOutcome, Target, TargetError
from harness.targets.processes import kill_all
from harness.targets.spec import parse

# Every module of the package, so each family registers its kinds: a new family
# is a new module here and nothing else.
for _m in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["Context", "RoundOutcome", "Target", "TargetError", "kill_all", "parse"]
