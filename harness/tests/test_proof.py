"""Proofs of failure (harness/proof/, conformance/proofs/*.toml): every declared
proof makes its requirement's tests fail, and the share of requirements with a
proof stays at or above the declared floor."""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

from harness import catalog, cli, kernels, proof, proof_uml
from harness.proof import guest as proof_guest
from harness.tests.conftest import ROOT, build_dir

FLOOR_FILE = proof.PROOF_DIR / "floor.toml"


def test_breakers_parse_into_strace_and_preload_commands():
    prefix, env = proof.breaker_command("strace:shmdt:retval=0:when=2", pathlib.Path("/shim.so"))
    assert prefix[0] == "strace" and "inject=shmdt:retval=0:when=2" in prefix and "trace=shmdt" in prefix
    assert env == {}
    prefix, env = proof.breaker_command("strace:mmap:error=EINVAL", pathlib.Path("/shim.so"))
    assert "inject=mmap:error=EINVAL" in prefix
    prefix, env = proof.breaker_command("mutant:munmap-noop", pathlib.Path("/shim.so"))
    assert prefix == [] and env == {"LD_PRELOAD": "/shim.so", "SHMCONFORM_MUTANT": "munmap-noop"}
    assert proof.breaker_command("uml:accerr-is-maperr", pathlib.Path("/shim.so")) == ([], {})


@pytest.mark.parametrize("bad", ["strace:shmdt", "strace:shmdt:retval=x", "strace:shmdt:error=einval",
                                 "seccomp:shmat", "mutant:", "strace:shmdt:retval=0:when=two",
                                 "uml:no-such-patch"])
def test_a_malformed_breaker_is_refused_with_its_text(bad):
    with pytest.raises(proof.ProofError, match=re.escape(bad)):
        proof.breaker_command(bad, pathlib.Path("/shim.so"))


@pytest.mark.parametrize("text, message", [
    ("[[proof]\n", "not valid TOML"),
    ('[[proof]]\nrequirement = "A.B"\nbreaker = "mutant:x"\nkind = "guess"\nexpect = "x"\n', "kind 'guess'"),
    ('[[proof]]\nrequirement = "A.B"\nbreaker = "mutant:x"\nkind = "no-op"\nexpect = "("\n', "not a regular"),
    ('[[proof]]\nrequirement = "A.B"\nbreaker = "mutant:x"\nkind = "no-op"\n', "'expect' missing"),
    ('[[proof]]\nrequirement = "NO.SUCH"\nbreaker = "mutant:x"\nkind = "no-op"\nexpect = "x"\n', "no requirement"),
    ('[[unproven]]\nrequirement = "A.B"\nreason = ""\n', "non-empty reason"),
    ('[[proof]]\nrequirement = "A.B"\nbreaker = "strace:munmap:retval=0"\nkind = "no-op"\nexpect = "x"\n'
     'target = "uml"\n', "target 'uml' is not qemu:"),
    ('[[proof]]\nrequirement = "A.B"\nbreaker = "mutant:x"\nkind = "no-op"\nexpect = "x"\n'
     'target = "qemu:linux-image-cloud-amd64"\n', "takes a strace: breaker"),
    ('[[proof]]\nrequirement = "A.B"\nbreaker = "strace:munmap:retval=0"\nkind = "no-op"\nexpect = "x"\n'
     'target = "qemu:linux-image-s390x"\n', "not a kernel package of this host's architecture"),
])
def test_a_malformed_proof_file_names_file_and_entry(tmp_path, text, message):
    (tmp_path / "area.toml").write_text(text)
    with pytest.raises(proof.ProofError, match=message) as e:
        proof.load(tmp_path, known={"A.B"})
    assert str(e.value).startswith("area.toml")


def test_trace_parsing_counts_calls_per_tracee_and_keeps_results_of_interrupted_calls():
    text = "\n".join([
        "10 shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600) = 5",
        "10 shmat(5, NULL, 0 <unfinished ...>",
        "11 shmat(5, NULL, 0)                    = -1 EINVAL (Invalid argument)",
        "10 <... shmat resumed>)                 = 0x7f0000000000",
        "10 shmat(5, NULL, 0)                    = -1 EACCES (Permission denied)",
        "11 +++ exited with 0 +++",
    ])
    calls = proof.parse_trace(text)
    assert [(c.pid, c.name, c.tracee_index, c.ret, c.errno) for c in calls] == [
        (10, "shmget", 1, "5", ""), (10, "shmat", 1, "0x7f0000000000", ""), (11, "shmat", 1, "-1", "EINVAL"),
        (10, "shmat", 2, "-1", "EACCES")]


def test_candidates_put_faked_successes_first_and_skip_the_loaders_calls():
    calls = proof.parse_trace("\n".join([
        "10 mprotect(0x1, 4096, PROT_READ) = 0",  # the loader's
        "10 shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600) = 5",
        "10 shmdt(0x7f0000000000) = 0",
        "10 shmdt(0x7f0000001000) = -1 EINVAL (Invalid argument)",
    ]))
    found = proof.candidates("SYSV.SHMDT.NOT_ATTACHED_EINVAL", calls, {"mprotect": 1})
    assert found[:3] == [("strace:shmdt:retval=0:when=2", "fake-success"),
                         ("strace:shmdt:error=EACCES:when=2", "wrong-errno"),
                         ("strace:shmdt:retval=0:when=1", "no-op")]
    assert not any(b.startswith("strace:mprotect") for b, _ in found)


def test_expectation_patterns_name_the_checked_expression_not_the_values():
    message = ("../../conformance/mmap/mmap_test.cc:87\nExpected equality of these values:\n  p\n"
               "    Which is: NULL\n  ((void *) -1)\n    Which is: 0xffffffffffffffff\n")
    pattern = proof.expectation_pattern(message)
    assert re.search(pattern, message)
    assert re.search(pattern, message.replace("-1", "-2").replace("NULL", "0x1234"))
    other = "x.cc:1\nValue of: shm_open(name, 2 | 64, 0600)\nExpected: fails"
    assert proof.expectation_pattern(other) == r"Value of: shm_open\(name, -?\d+ \| -?\d+, -?\d+\)"


def test_the_figure_counts_proven_requirements_and_lists_the_rest_with_reasons():
    proofs = [proof.Proof("A.X", "mutant:a", "mutant", "x"), proof.Proof("A.Y", "mutant:b", "mutant", "y")]
    verdicts = [proof.Verdict(proofs[0], True, ""), proof.Verdict(proofs[1], False, "every test still passes")]
    n, lines = proof.figure_lines(["A.X", "A.Y", "A.Z"], verdicts, proofs, [proof.Unproven("A.Z", "msync is a no-op")])
    assert n == 1
    assert lines[0].startswith("requirements with an automated proof of failure: 1/3")
    assert any("A.Y" in ln and "did not hold" in ln for ln in lines)
    assert any("A.Z" in ln and "msync is a no-op" in ln for ln in lines)


def test_the_figure_names_how_to_run_a_requirements_only_proof_that_was_not_run():
    guest = proof.Proof("A.X", "strace:munmap:retval=0:when=1", "fake-success", "x", target="qemu:linux-image-cloud-amd64")
    verdicts = [proof.Verdict(guest, False, "not run: guest proofs run with ./shmconform proof --vm", skipped=True)]
    n, lines = proof.figure_lines(["A.X"], verdicts, [guest], [])
    assert n == 0
    assert any("A.X" in ln and "in qemu:linux-image-cloud-amd64 not run" in ln and "--vm" in ln for ln in lines)
    assert "1 guest proofs" in "\n".join(lines)


def test_the_declarations_load_and_every_requirement_is_proven_or_says_why():
    reqs = catalog.load()
    proofs, unproven = proof.load(known=set(reqs))
    covered = {p.requirement for p in proofs} | {u.requirement for u in unproven}
    assert not set(reqs) - covered, f"neither a proof nor a reason: {sorted(set(reqs) - covered)}"


def test_the_proof_verb_prints_the_declared_figure():
    r = subprocess.run([sys.executable, "-m", "harness", "proof", "--declared"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.match(r"requirements with an automated proof of failure: \d+/\d+", r.stdout)


def test_the_proof_verb_refuses_a_missing_build_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness", "proof", "--build-dir", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no build" in r.stderr


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> list[proof.Verdict]:
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (ci/bootstrap.sh test installs it)")
    if subprocess.run(proof.isolation_prefix() + ["true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make private IPC and mount namespaces here (unshare refused)")
    if subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True).returncode != 0:
        pytest.skip("strace cannot trace here (ptrace refused)")
    ctx = proof.Context(build_dir(), tmp_path_factory.mktemp("proof"))
    proofs, _ = proof.load(known=set(catalog.load()))
    return proof.check_all(ctx, proof.Suite.gather(ctx), proofs, jobs=2)


def test_every_declared_proof_makes_its_tests_fail(verdicts):
    bad = [f"{v.proof.where} {v.proof.requirement} under {v.proof.breaker}: {v.detail}" for v in verdicts if not v.ok and not v.skipped]
    assert not bad, ("declared proofs that do not hold (when the tests changed: ./shmconform proof --discover --write, "
                     "then review the diff of conformance/proofs/):\n" + "\n".join(bad))


def test_the_share_of_proven_requirements_stays_above_the_floor(verdicts):
    floor = tomllib.loads(FLOOR_FILE.read_text())["minimum_percent"]
    reqs = list(catalog.load())
    n, lines = proof.figure_lines(reqs, verdicts, [v.proof for v in verdicts], proof.load()[1])
    assert 100.0 * n / len(reqs) >= floor, "\n".join(lines)


def test_guest_strace_brings_its_libraries_and_loader():
    files = proof_guest.strace_files()
    assert files[proof_guest.GUEST_STRACE] == proof_guest.STRACE.read_bytes()
    assert any(re.search(r"/libc\.so\.6$", f) for f in files) and any("/ld-linux" in f for f in files)


def test_the_guest_trace_numbers_each_call_per_process_as_when_counts():
    calls = proof.parse_trace("\n".join([
        "7 mmap(NULL, 2097152, PROT_READ, MAP_SHARED|MAP_HUGETLB, -1, 0) = 0x7f0000000000",
        "7 munmap(0x7f0000001000, 4096)      = -1 EINVAL (Invalid argument)",
        "8 munmap(0x7f0000000000, 2097152) = 0",
        "7 munmap(0x7f0000000000, 2097152) = 0",
    ]))
    assert proof_guest.numbered_calls(calls) == [
        "  pid 7 mmap #1: mmap(NULL, 2097152, PROT_READ, MAP_SHARED|MAP_HUGETLB, -1, 0) = 0x7f0000000000",
        "  pid 7 munmap #1: munmap(0x7f0000001000, 4096) = -1 EINVAL",
        "  pid 8 munmap #1: munmap(0x7f0000000000, 2097152) = 0",
        "  pid 7 munmap #2: munmap(0x7f0000000000, 2097152) = 0"]


def test_guest_proofs_are_not_run_without_vm(tmp_path):
    guest = [p for p in proof.load(known=set(catalog.load()))[0] if p.target]
    assert guest, "no guest proof declared"
    ctx = proof.Context(tmp_path, tmp_path)
    verdicts = proof_guest.check_guest(ctx, proof.Suite({}, {}, {}), guest)
    assert all(v.skipped and "--vm" in v.detail for v in verdicts)


@pytest.mark.slow
def test_guest_proofs_hold_in_their_qemu_guest(tmp_path):
    """The guest proofs (target = "qemu:..."), in one boot of each target's kernel (with huge
    pages). The kernel package is downloaded here when missing, as test_vm_targets.py does
    for the same package (Debian's archive is reachable wherever ./shmconform test runs)."""
    proofs = [p for p in proof.load(known=set(catalog.load()))[0] if p.target]
    for package in sorted({p.target.partition(":")[2] for p in proofs}):
        kernels.resolve(package, cli.cache_dir(), error=RuntimeError)
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    ctx = proof.Context(build_dir(), tmp_path, vm=True)
    suite = proof.Suite.gather(ctx)
    bad = [f"{v.proof.requirement} under {v.proof.breaker} in {v.proof.target}: {v.detail}"
           for v in proof.check_all(ctx, suite, proofs) if not v.ok]
    assert not bad, "\n".join(bad)


def test_uml_proofs_hold_on_their_patched_kernels(tmp_path):
    """The uml:PATCH proofs, where their kernels are already built (building one takes about
    20 minutes on 2 loaded cores, so ./shmconform test never does: ./shmconform proof --uml)."""
    proofs = [p for p in proof.load(known=set(catalog.load()))[0] if p.breaker.startswith("uml:")]
    assert proofs, "no uml proof declared"
    names = {p.breaker.split(":")[1] for p in proofs}
    missing = sorted(n for n in names if not proof_uml.built_kernel(n).exists())
    if missing or not proof_uml.STOCK_KERNEL.exists():
        pytest.skip(f"UML kernels not built ({', '.join(missing) or 'Debian linux.uml missing'}): "
                    "./shmconform proof --uml builds them once, about 20 minutes")
    ctx = proof.Context(build_dir(), tmp_path, uml=True)
    suite = proof.Suite.gather(ctx)
    bad = [f"{v.proof.requirement} under {v.proof.breaker}: {v.detail}"
           for v in proof.check_all(ctx, suite, proofs) if not v.ok]
    assert not bad, "\n".join(bad)
