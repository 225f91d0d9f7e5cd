"""Fixtures shared by the harness's own tests."""
from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def build_dir() -> pathlib.Path:
    """The build the tests use: $SHMCONFORM_BUILD_DIR, else build/ci, else build/default."""
    env = os.environ.get("SHMCONFORM_BUILD_DIR")
    if env:
        return pathlib.Path(env)
    for preset in ("ci", "default"):
        candidate = ROOT / "build" / preset
        if (candidate / "conformance").is_dir():
            return candidate
    pytest.fail("no build found: run ./shmconform test, or set SHMCONFORM_BUILD_DIR")


@pytest.fixture(scope="session")
def conformance_binaries() -> list[pathlib.Path]:
    binaries = sorted((build_dir() / "conformance").glob("conformance-*"))
    binaries = [b for b in binaries if b.is_file() and os.access(b, os.X_OK)]
    assert binaries, f"no conformance binaries in {build_dir() / 'conformance'}"
    return binaries


FAKE_SOURCE = pathlib.Path(__file__).resolve().parent / "fakes" / "fake_gtest.c"
FAKE_KINDS = ("fake", "hang", "crash", "garbage", "leak", "panic", "taint", "params", "listhang")


@pytest.fixture(scope="session")
def fake_build(tmp_path_factory) -> pathlib.Path:
    """A build directory of fake binaries: conformance-<kind> (fake_gtest.c, static, so
    they also run in a QEMU initramfs), plus a stress and a bench binary (shell)."""
    root = tmp_path_factory.mktemp("fakebuild")
    (root / "conformance").mkdir()
    first = root / "conformance" / "conformance-fake"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Werror", "-o", str(first), str(FAKE_SOURCE)], check=True)
    for kind in FAKE_KINDS[1:]:
        (root / "conformance" / f"conformance-{kind}").write_bytes(first.read_bytes())
        (root / "conformance" / f"conformance-{kind}").chmod(0o755)
    return root


def add_stress_and_bench(root: pathlib.Path) -> None:
    (root / "stress").mkdir(exist_ok=True)
    (root / "bench").mkdir(exist_ok=True)
    ok = root / "stress" / "stress-fine"
    ok.write_text('#!/bin/sh\necho "{\\"scenario\\": \\"fine\\", \\"args\\": \\"$*\\", \\"violations\\": 0}"\n')
    bad = root / "stress" / "stress-broken"
    bad.write_text('#!/bin/sh\necho "{\\"scenario\\": \\"broken\\", \\"violations\\": 1}"; echo oops >&2; exit 1\n')
    bench = root / "bench" / "bench-fake"
    bench.write_text('#!/bin/sh\necho "{\\"context\\": {\\"args\\": \\"$*\\"}, \\"benchmarks\\": '
                     '[{\\"name\\": \\"BM_Fake\\", \\"real_time\\": 1.5}]}"\n')
    for p in (ok, bad, bench):
        p.chmod(0o755)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: boots a VM, emulates or uses ssh (still run by ./shmconform test)")
