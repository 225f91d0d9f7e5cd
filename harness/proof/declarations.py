"""The proof files, conformance/proofs/*.toml: what a proof and an unproven requirement are,
the breaker syntax (strace:, mutant:, uml:) and the command prefix that applies one, where a
proof runs (the host, or a QEMU guest: `target`), loading the files, and writing the generated
ones (--discover --write)."""
from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import tomllib

from harness import kernels, proof_uml

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
PROOF_DIR = ROOT / "conformance" / "proofs"
# What a breaker does to the behaviour, strongest first.
KINDS = ("kernel", "fake-success", "wrong-errno", "mutant", "no-op", "refusal")
# A failure of this expectation means a setup step failed, not the behaviour checked.
SETUP_EXPECTATION = re.compile(r"^Value of: (shmconform_result_\\\.ok|[\w\\.]+WaitForNotification)\\\(\\\)$")
CURATED = "curated.toml"
GENERATED_HEADER = ("# Proofs of failure found by `./shmconform proof --discover --write` (harness/proof.py):\n"
                    "# regenerate after the tests change; hand-made proofs go in curated.toml, never here.\n\n")


class ProofError(Exception):
    """A proof file or breaker is malformed, or the tools are missing; the message says which."""


@dataclasses.dataclass(frozen=True)
class Proof:
    requirement: str
    breaker: str
    kind: str
    expect: str
    where: str = ""  # file and entry, for messages
    target: str = ""  # "" = this host; "qemu:PACKAGE" = inside that Debian kernel's guest (harness/proof/guest.py)


@dataclasses.dataclass(frozen=True)
class Unproven:
    requirement: str
    reason: str


_STRACE_RE = re.compile(r"^strace:([a-z0-9_]+):(retval=-?\d+|error=E[A-Z0-9]+)(?::when=(\d+)(\+?))?$")
_MUTANT_RE = re.compile(r"^mutant:([a-z0-9-]+)$")
UML_RE = re.compile(r"^uml:([a-z0-9-]+)$")
# A guest proof's target: a Debian kernel package of this host's architecture (its strace is copied in).
GUEST_TARGET_RE = re.compile(r"^qemu:([a-z0-9][a-z0-9.+-]+)$")


def breaker_command(breaker: str, shim: pathlib.Path) -> tuple[list[str], dict[str, str]]:
    """The command prefix and environment that apply a breaker to a binary run."""
    m = _STRACE_RE.match(breaker)
    if m:
        call, action, when, plus = m.groups()
        inject = f"{call}:{action}" + (f":when={when}{plus}" if when else "")
        return (["strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null", "-e", f"trace={call}",
                 "-e", "signal=none", "-e", f"inject={inject}"], {})
    m = _MUTANT_RE.match(breaker)
    if m:
        return [], {"LD_PRELOAD": str(shim), "SHMCONFORM_MUTANT": m.group(1)}
    m = UML_RE.match(breaker)
    if m:
        if not proof_uml.patch_path(m.group(1)).is_file():
            raise ProofError(f"breaker '{breaker}': no kernel patch {proof_uml.patch_path(m.group(1))}")
        return [], {}  # not a command prefix: check() boots a patched kernel
    raise ProofError(f"breaker '{breaker}' is not strace:CALL:retval=N|error=ENAME[:when=N], mutant:NAME "
                     "or uml:PATCH")


def load(proof_dir: pathlib.Path = PROOF_DIR, known: set[str] | None = None) -> tuple[list[Proof], list[Unproven]]:
    """Every declared proof and unproven requirement; ProofError on a malformed entry."""
    proofs: list[Proof] = []
    unproven: list[Unproven] = []
    paths = [proof_dir] if proof_dir.is_file() else sorted(proof_dir.glob("*.toml"))
    for path in paths:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ProofError(f"{path.name}: not valid TOML: {e}") from None
        for n, entry in enumerate(data.get("proof", []), 1):
            where = f"{path.name} proof #{n}"
            proof = _proof_entry(entry, where)
            if known is not None and proof.requirement not in known:
                raise ProofError(f"{where}: no requirement '{proof.requirement}' in the catalog")
            proofs.append(proof)
        for n, entry in enumerate(data.get("unproven", []), 1):
            where = f"{path.name} unproven #{n}"
            if not isinstance(entry.get("requirement"), str) or not str(entry.get("reason", "")).strip():
                raise ProofError(f"{where}: needs requirement and a non-empty reason")
            unproven.append(Unproven(entry["requirement"], entry["reason"].strip()))
    return proofs, unproven


def _proof_entry(entry: dict, where: str) -> Proof:
    for key in ("requirement", "breaker", "kind", "expect"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ProofError(f"{where}: '{key}' missing or not a string")
    if entry["kind"] not in KINDS:
        raise ProofError(f"{where}: kind '{entry['kind']}' is not one of {', '.join(KINDS)}")
    breaker_command(entry["breaker"], pathlib.Path("/"))  # raises on a malformed breaker
    try:
        re.compile(entry["expect"])
    except re.error as e:
        raise ProofError(f"{where}: expect is not a regular expression: {e}") from None
    if SETUP_EXPECTATION.search(entry["expect"]) and entry["kind"] != "refusal":
        raise ProofError(f"{where}: expect names a setup step; only a refusal of the call under test may")
    target = entry.get("target", "")
    if target:
        _check_target(target, entry["breaker"], where)
    return Proof(entry["requirement"], entry["breaker"], entry["kind"], entry["expect"], where, target)


def _check_target(target, breaker: str, where: str) -> None:
    """A guest proof runs the host's strace inside a QEMU guest of the host's architecture."""
    if not isinstance(target, str) or not GUEST_TARGET_RE.match(target):
        raise ProofError(f"{where}: target '{target}' is not qemu:DEBIAN-KERNEL-PACKAGE")
    if not _STRACE_RE.match(breaker):
        raise ProofError(f"{where}: a proof with a target takes a strace: breaker, not '{breaker}'")
    pkg = GUEST_TARGET_RE.match(target).group(1)
    if not pkg.endswith("-" + kernels.native_arch()):
        raise ProofError(f"{where}: target '{target}' is not a kernel package of this host's architecture "
                         f"(*-{kernels.native_arch()}): the guest runs the host's strace")


def write_generated(proof_dir: pathlib.Path, found: dict[str, Proof | str], reqs: dict, hand: set[str]) -> None:
    """Rewrite conformance/proofs/<area>.toml: the new results, and the old entries of the others."""
    entries: dict[str, str] = {}
    for path in sorted(proof_dir.glob("*.toml")):
        if path.name in (CURATED, "floor.toml"):
            continue
        try:
            old_proofs, old_unproven = load(path)
        except ProofError:
            continue  # a stale generated file: what is asked now replaces it
        entries.update({p.requirement: toml_entry(p) for p in old_proofs})
        entries.update({u.requirement: unproven_entry(u.requirement, u.reason) for u in old_unproven})
    for rid, result in found.items():
        entries[rid] = toml_entry(result) if isinstance(result, Proof) else unproven_entry(rid, result)
    by_area: dict[str, list[str]] = {}
    for rid, req in reqs.items():  # catalog order
        if rid in entries and rid not in hand:
            by_area.setdefault(req.area, []).append(entries[rid])
    for area, texts in by_area.items():
        (proof_dir / f"{area}.toml").write_text(GENERATED_HEADER + "\n".join(texts), encoding="utf-8")


def unproven_entry(rid: str, reason: str) -> str:
    return f'[[unproven]]\nrequirement = "{rid}"\nreason = {json.dumps(reason)}\n'


def toml_entry(proof: Proof) -> str:
    return (f'[[proof]]\nrequirement = "{proof.requirement}"\nbreaker = "{proof.breaker}"\n'
            f'kind = "{proof.kind}"\nexpect = {json.dumps(proof.expect)}\n'
            + (f'target = "{proof.target}"\n' if proof.target else ""))
