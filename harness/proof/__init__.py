"""Proofs of failure: every requirement's tests shown able to FAIL when the
behaviour they check is broken.

A proof is a (breaker, requirement) pair declared in conformance/proofs/*.toml:

    [[proof]]
    requirement = "SYSV.SHMDT.RETURNS_ZERO"
    breaker = "strace:shmdt:retval=0:when=1"   # or strace:NAME:error=EINVAL[:when=N], mutant:NAME
    kind = "no-op"                              # what the breaker fakes (see KINDS)
    expect = "FindMapsEntry\\(p\\)"              # a regex one failure message must match (the aim)

    target = "qemu:linux-image-cloud-amd64"     # optional: run in that QEMU guest (guest.py, --vm)

    [[unproven]]
    requirement = "SYSV.REGRESSION.RMID_REMAP_FILE_PAGES_RACE"
    reason = "why no breaker can make its tests fail"

check() runs the requirement's tests (a gtest filter of the tests that name it)
under the breaker and requires one of them, passing unbroken, to FAIL with a
message matching `expect`; a crashed binary or skipped tests prove nothing.
Every run happens in fresh IPC and mount namespaces with a private /dev/shm and
scratch directory, so a breaker that turns IPC_RMID or shm_unlink into a no-op
leaves nothing behind.

discover() finds a proof for a requirement without one: it traces the
requirement's tests (strace) and tries, in this order, to make a call that
failed succeed (fake-success) or fail with another errno (wrong-errno), to make
a successful call of the interface do nothing (no-op), the interface's mutants,
other no-ops, and last to refuse a successful call of the interface under test
(refusal), each strace breaker aimed with `when=` at one call. uml:PATCH
breakers (harness/proof_uml.py) are written by hand and run with --uml; proofs with a
target (guest.py: strace breakers inside a QEMU guest, for huge pages) run with --vm.

The package: declarations (the proof files and breakers), runner (running proofs), guest, discover,
figure (the report lines), cli (the `proof` verb); every public name is importable from here.
"""
from __future__ import annotations

from harness.proof.declarations import (
    CURATED, GENERATED_HEADER, KINDS, PROOF_DIR, ROOT, SETUP_EXPECTATION, UML_RE, Proof, ProofError, Unproven,
    breaker_command, load, toml_entry, unproven_entry, write_generated)
from harness.proof.runner import (
    RUN_TIMEOUT_S, Context, Suite, Verdict, check, check_all, check_uml, isolation_prefix, listed_requirements,
    run_binary)
from harness.proof.discover import (
    INTERFACE_CALLS, INTERFACE_MUTANTS, NOOP_ABLE, REFUSABLE, TRACED, Call, candidates, discover,
    expectation_pattern, parse_trace, startup_counts, trace, unstable_calls)
from harness.proof.figure import figure_lines
from harness.proof.cli import cli_main, register, requirement_ids

__all__ = [
    "CURATED", "Call", "Context", "GENERATED_HEADER", "INTERFACE_CALLS", "INTERFACE_MUTANTS", "KINDS", "NOOP_ABLE",
    "PROOF_DIR", "Proof", "ProofError", "REFUSABLE", "ROOT", "RUN_TIMEOUT_S", "SETUP_EXPECTATION", "Suite",
    "TRACED", "UML_RE", "Unproven", "Verdict", "breaker_command", "candidates", "check", "check_all", "check_uml",
    "cli_main", "discover", "expectation_pattern", "figure_lines", "isolation_prefix", "listed_requirements",
    "load", "parse_trace", "register", "requirement_ids", "run_binary", "startup_counts", "toml_entry", "trace",
    "unproven_entry", "unstable_calls", "write_generated"]
