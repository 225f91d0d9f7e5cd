"""The pytest plugin: items per (target, binary, test) with requirement markers;
-k, -m, --junitxml, -x and --lf behave as pytest users expect."""
from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

from .conftest import ROOT, build_dir


def pytest_run(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "harness.pytest_plugin", "-q",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_items_carry_requirement_markers_and_junit_properties(tmp_path):
    conformance = build_dir() / "conformance"
    junit = tmp_path / "j.xml"
    r = pytest_run(str(conformance), "-p", "no:cacheprovider", "-m", "SYSV.SHMGET.EXCL_EXISTS",
                   f"--junitxml={junit}", "--shmconform-target", "local", "--shmconform-target", "ns")
    assert r.returncode == 0, r.stdout + r.stderr
    cases = ET.parse(junit).getroot().iter("testcase")
    names = sorted(c.get("name") for c in cases)
    assert names == ["ShmgetTest.ExclusiveCreateOfExistingKeyFailsWithEEXIST[local]",
                     "ShmgetTest.ExclusiveCreateOfExistingKeyFailsWithEEXIST[ns]"]
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert props["requirements"] == "SYSV.SHMGET.EXCL_EXISTS"


def test_statuses_map_to_pytest_outcomes_and_x_and_lf_work(fake_build, tmp_path):
    conformance = fake_build / "conformance"
    r = pytest_run(str(conformance / "conformance-fake"), str(conformance / "conformance-crash"), "-rA",
                   "--shmconform-test-timeout", "5", cwd=tmp_path)
    assert "2 failed, 3 passed, 1 skipped" in r.stdout, r.stdout
    assert "FAILED" in r.stdout and "SIGSEGV" in r.stdout and "Expected: 1" in r.stdout
    lf = pytest_run(str(conformance / "conformance-fake"), str(conformance / "conformance-crash"), "--lf",
                    cwd=tmp_path)
    assert "2 failed, 4 deselected" in lf.stdout, lf.stdout
    x = pytest_run(str(conformance / "conformance-fake"), "-x", "-k", "Fails or Skips", "-p", "no:cacheprovider",
                   cwd=tmp_path)
    assert "1 failed" in x.stdout and "1 deselected" in x.stdout, x.stdout


def test_xdist_runs_one_group_per_target(fake_build, tmp_path):
    conformance = fake_build / "conformance"
    r = pytest_run(str(conformance / "conformance-fake"), "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
                   "--shmconform-target", "local", "--shmconform-target", "ns", cwd=tmp_path)
    assert "2 failed, 2 passed, 2 skipped" in r.stdout, r.stdout


def test_a_parameterised_test_is_selected_by_its_rows_requirement(fake_build, tmp_path):
    params = fake_build / "conformance" / "conformance-params"
    junit = tmp_path / "j.xml"
    r = pytest_run(str(params), "-p", "no:cacheprovider", "-m", "FAKE.REQ.P1", f"--junitxml={junit}", cwd=tmp_path)
    assert "1 failed, 2 deselected" in r.stdout, r.stdout
    [case] = ET.parse(junit).getroot().iter("testcase")
    assert case.get("name") == "Sizes/Fake.Param/1[local]"
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["requirements"] == "FAKE.REQ.P1"
    assert props["variant"] == "raw"  # what the test recorded, next to its status
    assert props["status"] == "fail"


def test_the_plugin_removes_its_scratch_directory(fake_build, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "harness.pytest_plugin", "-q", "-p", "no:cacheprovider",
                        str(fake_build / "conformance" / "conformance-fake")], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)})
    assert "1 failed, 1 passed, 1 skipped" in r.stdout, r.stdout
    assert not list(scratch.glob("shmconform-pytest-*"))
