"""Integration: a real kernel of another architecture and page size. One boot of
Debian's arm64 kernel with 16 KiB pages under qemu-system-aarch64 (TCG), running
a subset of the aarch64 static build: the page size and huge page size come from
that kernel (not from this machine), and the huge-page tests run instead of
skipping because the VM boots with huge pages reserved."""
from __future__ import annotations

import os
import pathlib

import pytest

from harness import builds, cli, engine, targets

from .conftest import build_dir

ARM64_16K = "linux-image-6.12-arm64-16k"
SUBSET = "ShmgetTest.*:ShmatTest.*:HugetlbTest.*:MunmapTest.*"


@pytest.mark.slow
def test_arm64_16k_kernel_runs_the_suite_with_its_own_page_size(tmp_path):
    build = builds.ensure("aarch64", only=["conformance-sysv", "conformance-mmap"])
    # The host build lists the tests and their requirement ids; the guest runs the aarch64 build.
    ctx = targets.Context(build_dir=build_dir(), cache_dir=cli.cache_dir(), work_dir=tmp_path / "work",
                          run_id=f"k{os.getpid()}", preset_dirs={"aarch64": build})
    run = engine.run_target(targets.parse(f"qemu:{ARM64_16K}"), ctx,
                            engine.Plan(binaries=["conformance-sysv", "conformance-mmap"], gtest_filter=SUBSET))
    assert run.status == "ok", (run.error, run.console_tail[-2000:])
    env = run.environment
    assert env["arch"] == "aarch64" and env["kernel_release"].endswith("-arm64-16k")
    assert env["virtualization"].startswith("qemu-system-aarch64")
    assert env["page_size"] == 16384
    assert "32M" in env["huge_page_sizes"].split(",")             # a PMD of 16 KiB pages
    by = {f"{r.suite}.{r.name}": r for r in run.results}
    bad = {k: (r.status, r.message[:300]) for k, r in by.items() if r.status not in ("pass", "skip")}
    assert not bad, bad
    huge = {k: r.status for k, r in by.items() if k.startswith("HugetlbTest.")}
    # Every huge-page test that needs a free page ran; only the one about a kernel
    # without configured huge pages skips (this one has them).
    assert huge and all(s == "pass" for k, s in huge.items() if "WithoutConfiguredHugePages" not in k), huge
    assert any(k.startswith("ShmgetTest.") for k in by) and any(k.startswith("MunmapTest.") for k in by)
    assert all(r.requirements for r in run.results)
    assert pathlib.Path(ctx.cache_dir / "apt" / "arm64").is_dir()   # a private arm64 index, not dpkg's
