"""Parsing --target specs (KIND or KIND:ARG). Each family module registers its
kinds here with @family, so a new family (oci:, lava:, ...) is one new module
in this package: harness/targets/__init__.py imports every module in it."""
from __future__ import annotations

import dataclasses
from typing import Callable

from harness.targets.base import Target, TargetError


@dataclasses.dataclass
class _Family:
    kind: str
    usage: str                       # how the user writes it (error line, `list targets`)
    help: str                        # one line: what it is
    takes_arg: bool                  # KIND:ARG (the factory gets ARG) or a bare KIND
    order: int                       # place in the usage list
    make: Callable[..., Target]


_families: dict[str, _Family] = {}


def family(kind: str, usage: str, help: str, *, takes_arg: bool, order: int = 100):
    """Class decorator: specs of this kind build the class; cls(spec) for a bare
    kind, cls(spec, arg) for KIND:ARG ("" when the colon part is missing)."""
    def register(cls):
        if kind in _families:
            raise ValueError(f"target kind {kind!r} registered twice")
        _families[kind] = _Family(kind, usage, help, takes_arg, order, cls)
        return cls
    return register


def _ordered() -> list[_Family]:
    return sorted(_families.values(), key=lambda f: f.order)


def usages() -> list[str]:
    return [f.usage for f in _ordered()]


def help_lines() -> list[str]:
    """`shmconform list targets` and `run --help`: one line per kind."""
    return [f"{f.usage:<26} {f.help}" for f in _ordered()]


def parse(spec: str) -> Target:
    """A Target for a --target spec; TargetError (one line) when it makes no sense."""
    kind, _, arg = spec.partition(":")
    fam = _families.get(kind)
    if fam is not None and fam.takes_arg:
        return fam.make(spec, arg)
    if fam is not None and not arg:
        return fam.make(spec)
    raise TargetError(f"unknown target '{spec}' (use {', '.join(usages())})")
