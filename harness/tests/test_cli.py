"""Bad input to the CLI: one clear line on stderr, a non-zero exit, no traceback."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness import cli, testlist
from harness.tests.conftest import ROOT


def shmconform(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_malformed_waiver_file_is_refused_before_running(tmp_path):
    bad = tmp_path / "waivers.toml"
    bad.write_text("[[waiver]]\nbogus = 1\n")
    r = shmconform("run", "--target", "local", "--waivers", str(bad))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "unknown key(s) bogus" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_waiver_file_is_one_line(tmp_path):
    r = shmconform("run", "--target", "local", "--waivers", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert r.stderr.startswith("shmconform: no such waiver file:") and r.stderr.count("\n") == 1


def test_known_deviations_file_is_a_valid_waiver_file():
    from harness.report import waivers
    loaded = waivers.load(ROOT / "reports" / "known-deviations.toml")
    assert loaded and all(w.reason for w in loaded)


@pytest.mark.parametrize("args", [("--test-timeout", "-5"), ("--test-timeout", "0"), ("--target-timeout", "-1"),
                                  ("--jobs", "0"), ("--stress", "-3"), ("--test-timeout", "soon")])
def test_non_positive_numbers_are_one_line_and_exit_2(args):
    r = shmconform("run", "--target", "local", *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and args[0] in r.stderr and "Traceback" not in r.stderr


def test_list_tests_prints_each_test_with_its_listed_ids(fake_build, tmp_path, capsys):
    (tmp_path / "conformance").mkdir()
    for kind in ("fake", "params"):
        shutil.copy(fake_build / "conformance" / f"conformance-{kind}", tmp_path / "conformance")
    assert cli.main(["list", "tests", "--build-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "conformance-params:Sizes/Fake.Param/1  [FAKE.REQ.P1]" in lines
    assert "conformance-params:Fake.Untagged  []" in lines
    assert "conformance-fake:Fake.Skips  [FAKE.REQ.TWO]" in lines


def test_list_tests_on_a_hung_binary_is_one_line(fake_build, tmp_path, capsys, monkeypatch):
    (tmp_path / "conformance").mkdir()
    shutil.copy(fake_build / "conformance" / "conformance-listhang", tmp_path / "conformance")
    monkeypatch.setattr(testlist, "TIMEOUT", 1.0)
    assert cli.main(["list", "tests", "--build-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "conformance-listhang --shmconform_list did not finish in 1 s" in err
