"""The figure: requirements with an automated proof of failure out of all, the holding proofs by
kind, and each requirement without a proof and why."""
from __future__ import annotations

from harness.proof.declarations import KINDS, Proof, Unproven
from harness.proof.runner import Verdict


def figure_lines(requirements: list[str], verdicts: list[Verdict] | None, proofs: list[Proof],
                 unproven: list[Unproven]) -> tuple[int, list[str]]:
    """(number proven, report lines): the figure, the holding proofs by kind, then each
    requirement without a proof and why."""
    if verdicts is None:
        holding = [p for p in proofs if not p.breaker.startswith("uml:")]
        broken: dict[str, str] = {}
    else:
        holding = [v.proof for v in verdicts if v.ok]
        broken = {v.proof.requirement: f"declared proof {v.proof.breaker} did not hold: {v.detail}"
                  for v in verdicts if not v.ok and not v.skipped}
    proven = {p.requirement for p in holding}
    reasons = {u.requirement: u.reason for u in unproven}
    # a requirement whose only proofs were not run (uml, guest) says how to run them
    reasons.update({v.proof.requirement: f"{v.proof.breaker}" + (f" in {v.proof.target}" if v.proof.target else "")
                    + f" {v.detail}" for v in verdicts or [] if v.skipped and v.proof.requirement not in reasons})
    total = len(requirements)
    n = sum(1 for r in requirements if r in proven)
    kinds: dict[str, int] = {}
    for p in holding:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    lines = [f"requirements with an automated proof of failure: {n}/{total} ({100.0 * n / max(total, 1):.1f}%)"
             + ("" if verdicts is not None else " (declared, not run: drop --declared to run them)"),
             "  holding proofs by kind: " + ", ".join(f"{kinds[k]} {k}" for k in KINDS if k in kinds)]
    skipped = [v for v in verdicts or [] if v.skipped]
    uml = sum(1 for v in skipped if v.proof.breaker.startswith("uml:"))
    if uml:
        lines.append(f"  not run: {uml} uml proofs (./shmconform proof --uml: builds a patched UML kernel once)")
    if len(skipped) > uml:
        lines.append(f"  not run: {len(skipped) - uml} guest proofs (./shmconform proof --vm: boots a QEMU guest)")
    missing = [r for r in requirements if r not in proven]
    if missing:
        lines.append(f"without a proof ({len(missing)}):")
    for r in missing:
        lines.append(f"  {r:<44} {broken.get(r) or reasons.get(r) or 'no proof declared'}")
    return n, lines
