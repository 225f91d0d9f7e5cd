"""Each conformance test can fail: run it with the behaviour it checks broken
(support/mutants/mutant_shim.cc, LD_PRELOAD'ed) and require a failure.

A row names the mutant, the binary and the gtest filter of the tests that
must notice it. Add a row when you add a mutant."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from harness import builds, gtest
from harness.tests.conftest import build_dir

MUTANTS = [
    ("excl-ignored", "conformance-sysv", "ShmgetTest.ExclusiveCreateOfExistingKeyFailsWithEEXIST"),
    ("stat-segsz-rounded", "conformance-sysv", "Sizes/ShmgetSizeTest.*:-*OnePage"),
    ("extra-page-after-segment", "conformance-sysv", "Sizes/ShmgetSizeTest.*"),
    ("fork-drops-attachments", "conformance-sysv", "LifecycleTest.ForkedChildInheritsAttachmentAtSameAddressSharedBothWays"),
    ("nattch-inflated", "conformance-sysv", "LifecycleTest.ExecDetaches*:LifecycleTest.ExitDetaches*:LifecycleTest.Forked*"),
    ("destroy-on-child-exit", "conformance-sysv", "LifecycleTest.ExitDetachesAttachmentsWithoutDestroyingTheSegment"),
    ("munmap-noop", "conformance-mmap", "MunmapTest.AccessAfterUnmapRaisesSegvMaperrAtTheAddress"),
    ("private-is-shared", "conformance-mmap",
     "MmapPrivateTest.Stores*:MmapPrivateTest.ParentAndChild*:MmapPrivateTest.WrittenPage*"),
]


def run_filtered(binary: str, gtest_filter: str, tmp_path, mutant: str | None) -> dict[str, bool]:
    """Test name -> passed, for the tests the filter selects."""
    shim = build_dir() / "support" / "libshmconform_mutants.so"
    if not shim.exists():
        pytest.skip(f"{shim} not built (static builds have no mutant shim)")
    out = tmp_path / f"{mutant or 'baseline'}.json"
    env = dict(os.environ)
    if mutant:
        env.update(LD_PRELOAD=str(shim), SHMCONFORM_MUTANT=mutant)
    subprocess.run([str(build_dir() / "conformance" / binary), f"--gtest_filter={gtest_filter}",
                    f"--gtest_output=json:{out}"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=False)
    return {c.full_name: c.status == "pass" for c in gtest.parse_json(out.read_text())}


@pytest.mark.parametrize("mutant, binary, gtest_filter", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_tests_fail_when_their_behaviour_is_broken(mutant, binary, gtest_filter, tmp_path):
    baseline = run_filtered(binary, gtest_filter, tmp_path, None)
    assert baseline, f"the filter {gtest_filter} selects no test"
    assert all(baseline.values()), f"the tests must pass unbroken first: {baseline}"
    broken = run_filtered(binary, gtest_filter, tmp_path, mutant)
    survivors = [name for name, passed in broken.items() if passed]
    assert not survivors, f"these tests did not notice the mutant '{mutant}': {survivors}"


# glibc's 64-bit time_t shmctl (__shmctl64) exists only on 32-bit targets, and the static cross
# builds cannot preload the shim: its mutant runs in a dynamically linked armhf build under qemu-arm.
TIME64_TESTS = "ShmctlTime64Test.*"
TIME64_READERS = ("ShmctlTime64Test.StatAgreesWithTheRawSystemCallFieldByField",
                  "ShmctlTime64Test.InfoAndStatBySlotAgreeWithTheRawSystemCall")
TIME32_STAT = "ShmctlVariantTest.StatThroughLibcAgreesWithTheRawSystemCall"


def run_under_qemu_arm(build, tmp_path, mutant: str | None) -> dict[str, gtest.Case]:
    out = tmp_path / f"armhf-{mutant or 'baseline'}.json"
    env_args = ["-E", f"LD_PRELOAD={build / 'support' / 'libshmconform_mutants.so'}",
                "-E", f"SHMCONFORM_MUTANT={mutant}"] if mutant else []
    subprocess.run(["qemu-arm", "-L", "/usr/arm-linux-gnueabihf", *env_args,
                    str(build / "conformance" / "conformance-sysv"), f"--gtest_filter={TIME64_TESTS}:{TIME32_STAT}",
                    f"--gtest_output=json:{out}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120, check=False)
    assert out.exists(), f"conformance-sysv under qemu-arm ({mutant or 'baseline'}) wrote no report"
    return {c.full_name: c for c in gtest.parse_json(out.read_text())}


@pytest.mark.slow
def test_time64_conversion_fault_fails_only_the_time64_variant(tmp_path):
    if not shutil.which("qemu-arm"):
        pytest.fail("qemu-arm is not installed (apt-get install qemu-user)")
    build = builds.ensure("armhf-dynamic", only=["conformance-sysv", "shmconform_mutants"], error=pytest.fail.Exception)
    baseline = run_under_qemu_arm(build, tmp_path, None)
    assert len(baseline) >= 4 and all(c.status == "pass" for c in baseline.values()), \
        {n: (c.status, c.message[:300]) for n, c in baseline.items()}
    broken = run_under_qemu_arm(build, tmp_path, "time64-high-words-garbage")
    for name in TIME64_READERS:
        assert broken[name].status == "fail", (name, broken[name].status)
    assert re.search(r"libc\.shm_atime\s+Which is: \d+\s+raw::AtimeOf\(kernel\)", broken[TIME64_READERS[0]].message), \
        broken[TIME64_READERS[0]].message[:600]
    assert "by_slot.shm_atime == raw::AtimeOf(kernel)" in broken[TIME64_READERS[1]].message
    # The default time_t interface is another function: the mutant must not reach it.
    assert broken[TIME32_STAT].status == "pass", broken[TIME32_STAT].message[:300]
