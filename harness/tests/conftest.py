"""Fixtures shared by the harness's own tests."""
from __future__ import annotations

import json
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


@pytest.fixture(scope="session")
def conformance_json(conformance_binaries, tmp_path_factory) -> dict[str, dict]:
    """Each conformance binary run once on this kernel: binary name -> gtest JSON."""
    out = tmp_path_factory.mktemp("gtest")
    reports = {}
    for binary in conformance_binaries:
        path = out / f"{binary.name}.json"
        subprocess.run([str(binary), f"--gtest_output=json:{path}", "--gtest_brief=1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
        assert path.exists(), f"{binary.name} wrote no JSON report"
        reports[binary.name] = json.loads(path.read_text())
    return reports
