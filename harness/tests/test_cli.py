"""Bad input to the CLI: one clear line on stderr, a non-zero exit, no traceback."""
from __future__ import annotations

import subprocess
import sys

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
