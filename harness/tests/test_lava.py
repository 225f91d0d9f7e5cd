"""shmconform on LAVA: the case-name mapping, the guest runner (busybox only and
a full root file system), the importer (saved lava-run job logs of two kernels,
a server's API results, corrupt and foreign files), the jobs `lava job` writes
(lava-run --validate for every device type) and one end-to-end run: the lava:
target through lava-run on a QEMU amd64 device against the qemu: target on the
same Debian cloud kernel, in one report, test by test.

Wall time here (2 shared cores, loaded by other jobs): the unit tests ~15 s in
all, the three validated jobs ~4-9 s, the end-to-end test 48-96 s (both targets
at once: the sysv and mmap binaries and two fakes). lava-dispatcher is installed
by ci/bootstrap.sh lava on first use (~4.5 min here), once per machine.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import threading

import pytest
import yaml

from harness import builds, cli, targets
from harness.lava import dispatcher, names, results
from harness.report import document

from .conftest import FAKE_SOURCE, ROOT

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "lava"
LOG_57 = FIXTURES / "job-cloud-57.log"          # lava-run's log of `lava job` on 6.1.0-57-cloud (fake suite)
LOG_56 = FIXTURES / "job-cloud-56.log"          # the same job on 6.1.0-56-cloud
LISTING = FIXTURES / "listing-fake.json"        # what conformance-fake --shmconform_list would print
RUNNER = ROOT / "ci" / "lava" / "run-suite.sh"
KERNEL = "linux-image-6.1.0-57-cloud-amd64"


# -- names ---------------------------------------------------------------------
@pytest.mark.parametrize("name", [
    "ShmgetTest.CreatesASegment", "Sizes/ShmgetSizeTest.RejectsTooLarge/3", "Typed/MapTest/0.Shared",
    "DISABLED_Suite.Name", "with space-and-dash", "ünïcode/名前"])
def test_case_names_are_lava_words_and_map_back(name):
    case = names.to_case(name)
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in case), case
    assert names.from_case(case) == name


def test_case_names_not_written_by_the_mapping_are_refused():
    for bad in ("a b", "x-zz", "x-2", "", "semi;colon"):
        with pytest.raises(ValueError):
            names.from_case(bad)


# -- the guest runner ------------------------------------------------------------
PARAM_FAKE = """#!/bin/sh
echo "[==========] Running 2 tests from 2 test suites."
echo "[ RUN      ] Sizes/ShmgetSizeTest.Rejects/3"
echo "[       OK ] Sizes/ShmgetSizeTest.Rejects/3 (12 ms)"
echo "[ RUN      ] Fork/MapTest.Shared/0"
echo "x.cc:1: Failure"
echo "[  FAILED  ] Fork/MapTest.Shared/0, where GetParam() = 4 (1500 ms)"
echo "[==========] 2 tests from 2 test suites ran. (1512 ms total)"
echo "[  FAILED  ] Fork/MapTest.Shared/0, where GetParam() = 4"
exit 1
"""

EXPECTED_CALLS = [
    "set start conformance-crash",
    "case Fake.Before --result pass --measurement 0.001 --units seconds",
    "case Fake.Crashes --result fail",
    "case Fake.After --result pass --measurement 0.001 --units seconds",
    "set stop",
    "set start conformance-fake",
    "case Fake.Passes --result pass --measurement 0.001 --units seconds",
    "case Fake.Fails --result fail --measurement 0.001 --units seconds",
    "case Fake.Skips --result skip --measurement 0.000 --units seconds",
    "set stop",
    "set start conformance-garbage",
    "case conformance-2Dgarbage --result fail",
    "set stop",
    "set start conformance-hang",
    "case Fake.Before --result pass --measurement 0.001 --units seconds",
    "case Fake.Hangs --result fail",
    "case Fake.After --result pass --measurement 0.001 --units seconds",
    "set stop",
    "set start conformance-param",
    "case Sizes-2FShmgetSizeTest.Rejects-2F3 --result pass --measurement 0.012 --units seconds",
    "case Fork-2FMapTest.Shared-2F0 --result fail --measurement 1.500 --units seconds",
    "set stop",
]


@pytest.fixture(scope="module")
def guest_suite(tmp_path_factory, fake_build) -> pathlib.Path:
    """SUITE/bin: fake gtest binaries that pass/fail/skip, crash, hang, print garbage,
    and a parameterised one (names with '/')."""
    suite = tmp_path_factory.mktemp("suite")
    (suite / "bin").mkdir()
    fake = fake_build / "conformance" / "conformance-fake"
    for kind in ("fake", "crash", "hang"):
        shutil.copy(fake, suite / "bin" / f"conformance-{kind}")
    (suite / "bin" / "conformance-param").write_text(PARAM_FAKE)
    (suite / "bin" / "conformance-garbage").write_text("#!/bin/sh\necho 'not gtest'\nexit 3\n")
    for p in (suite / "bin").iterdir():
        p.chmod(0o755)
    return suite


def _lava_helpers(d: pathlib.Path, calls: pathlib.Path) -> None:
    """Stand-ins for LAVA's lava-test-case/lava-test-set that record their arguments."""
    d.mkdir()
    for name, word in (("lava-test-case", "case"), ("lava-test-set", "set")):
        (d / name).write_text(f'#!/bin/sh\necho "{word} $*" >> {calls}\n')
        (d / name).chmod(0o755)


@pytest.mark.parametrize("root_fs", ["busybox", "full"])
def test_runner_reports_every_test_as_a_lava_case(root_fs, guest_suite, tmp_path):
    calls = tmp_path / "calls"
    _lava_helpers(tmp_path / "helpers", calls)
    if root_fs == "busybox":  # a ramdisk: busybox's applets and nothing else on PATH
        applets = tmp_path / "applets"
        applets.mkdir()
        subprocess.run(["/bin/busybox", "--install", "-s", str(applets)], check=True)
        path, shell = f"{tmp_path / 'helpers'}:{applets}", str(applets / "sh")
    else:                     # this machine's root file system: dash, mawk, coreutils
        path, shell = f"{tmp_path / 'helpers'}:/usr/bin:/bin", "/bin/sh"
    # The hang is killed by the per-binary limit on one, by the no-progress limit on the other.
    limits = ["2", "kernel=k1 device_type=qemu", "0"] if root_fs == "busybox" else \
        ["60", "kernel=k1 device_type=qemu", "2"]
    r = subprocess.run([shell, str(RUNNER), str(guest_suite), "", "", *limits],
                       env={"PATH": path, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert calls.read_text().splitlines() == EXPECTED_CALLS
    out = r.stdout.splitlines()
    assert "@@SHMCONFORM-LABEL kernel=k1" in out and "@@SHMCONFORM-FINISHED" in out
    hung = "hung: killed after 2 s" if root_fs == "busybox" else "hung: no test started or ended for 2 s"
    assert f"@@SHMCONFORM-CRASH conformance-hang Fake.Hangs {hung}" in out
    assert any(line.startswith("@@SHMCONFORM-CRASH conformance-crash Fake.Crashes the test binary died")
               for line in out)
    # The guest's encoding is the importer's: every case maps back to its gtest name.
    cases = [c.split()[1] for c in calls.read_text().splitlines() if c.startswith("case ")]
    assert "Fork/MapTest.Shared/0" in [names.from_case(c) for c in cases]
    assert [names.to_case(names.from_case(c)) for c in cases] == cases


def test_runner_honours_the_filters_file(guest_suite, tmp_path):
    suite = tmp_path / "suite"
    shutil.copytree(guest_suite, suite)
    (suite / "filters").write_text("conformance-fake *-Fake.Fails:Fake.Skips\n")
    calls = tmp_path / "calls"
    _lava_helpers(tmp_path / "helpers", calls)
    r = subprocess.run(["/bin/sh", str(RUNNER), str(suite)], capture_output=True, text=True, timeout=60,
                       env={"PATH": f"{tmp_path / 'helpers'}:/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert calls.read_text().splitlines() == [
        "set start conformance-fake", "case Fake.Passes --result pass --measurement 0.001 --units seconds",
        "set stop"]


# -- the importer ----------------------------------------------------------------
def _import(tmp_path, *files, listing=LISTING) -> tuple[int, pathlib.Path]:
    out = tmp_path / "imported"
    rc = cli.main(["lava", "import", *map(str, files), "--listing", str(listing), "--out", str(out)])
    return rc, out


def _statuses(run) -> dict[str, dict[str, str]]:
    return {t.name: {r.test_id: r.status for r in t.results} for t in run.targets}


def test_import_of_two_jobs_on_different_kernels_is_one_matrix(tmp_path):
    rc, out = _import(tmp_path, LOG_57, LOG_56)
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) >= ["junit.xml", "report.html", "report.json", "summary.md"]
    run, _ = document.load(out / "report.json")
    assert [t.name for t in run.targets] == [f"lava:qemu:{KERNEL}", "lava:qemu:linux-image-6.1.0-56-cloud-amd64"]
    assert [t.environment["kernel_release"] for t in run.targets] == ["6.1.0-57-cloud-amd64", "6.1.0-56-cloud-amd64"]
    for t in run.targets:
        assert t.kind == "lava" and t.status == "ok" and not t.error
        assert t.environment["lava_device_type"] == "qemu" and t.environment["page_size"] == 4096
        by_id = {r.test_id: r for r in t.results}
        assert {k: v.status for k, v in by_id.items()} == {
            "conformance-crash:Fake.Before": "pass", "conformance-crash:Fake.Crashes": "crash",
            "conformance-crash:Fake.After": "pass", "conformance-fake:Fake.Passes": "pass",
            "conformance-fake:Fake.Fails": "fail", "conformance-fake:Fake.Skips": "skip"}
        assert by_id["conformance-fake:Fake.Fails"].requirements == ["FAKE.REQ.FAILS"]
        assert "Expected: 1" in by_id["conformance-fake:Fake.Fails"].message
        assert by_id["conformance-fake:Fake.Skips"].message == "no reason"
        assert "exit status 139" in by_id["conformance-crash:Fake.Crashes"].message
        assert by_id["conformance-fake:Fake.Passes"].duration_s == pytest.approx(0.001)
    assert "lava:qemu:linux-image-6.1.0-56-cloud-amd64" in (out / "summary.md").read_text()
    jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")
    schema = json.loads((ROOT / "reports" / "report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads((out / "report.json").read_text()))


def test_imported_runs_compare_and_merge_like_any_run(tmp_path, capsys):
    rc57, out57 = _import(tmp_path / "a", LOG_57)
    rc56, out56 = _import(tmp_path / "b", LOG_56)
    assert rc57 == rc56 == 0
    assert cli.main(["compare", str(out57), str(out57)]) == 0
    assert "0 regression(s)" in capsys.readouterr().out
    assert cli.main(["merge", str(out57), str(out56), "--out", str(tmp_path / "merged")]) == 0
    merged, _ = document.load(tmp_path / "merged" / "report.json")
    assert len(merged.targets) == 2 and all(len(t.results) == 6 for t in merged.targets)


def _corrupt(tmp_path) -> pathlib.Path:
    lines = LOG_57.read_text().splitlines()
    lines.insert(len(lines) // 2, "Traceback (most recent call last): garbage {{{")
    path = tmp_path / "corrupt.log"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind", ["corrupt-log", "gtest-json", "foreign-yaml", "binary", "missing"])
def test_a_corrupt_or_foreign_file_is_one_line_and_exit_2(kind, tmp_path, capfd):
    bad = {"corrupt-log": lambda: _corrupt(tmp_path),
           "gtest-json": lambda: _write(tmp_path / "r.json", json.dumps({"testsuites": []})),
           "foreign-yaml": lambda: _write(tmp_path / "x.yaml", "- a\n- b\n"),
           "binary": lambda: pathlib.Path("/bin/busybox"),
           "missing": lambda: tmp_path / "nope.log"}[kind]()
    rc, out = _import(tmp_path, bad)
    err = capfd.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and str(bad) in err and "Traceback" not in err, err
    assert not out.exists()
    # With a good job alongside: still one line and exit 2, and the good job is imported.
    rc, out = _import(tmp_path, LOG_57, bad)
    err = capfd.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "the other 1 job(s)" in err, err
    run, _ = document.load(out / "report.json")
    assert [t.name for t in run.targets] == [f"lava:qemu:{KERNEL}"] and len(run.targets[0].results) == 6


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text)
    return path


def _decimal(value: float | None) -> str:
    return "None" if value is None else f"{value:.10f}"   # how the server prints a DecimalField


def _api_files(tmp_path: pathlib.Path, log: pathlib.Path, job_id: int, kernel: str, export: bool) -> list[pathlib.Path]:
    """What a LAVA server's API returns for a job whose log is `log`: /api/v0.2/jobs/ID/
    and either /api/v0.2/jobs/ID/tests/ (REST: metadata as a YAML string, suite and set
    as ids) or /api/v0.2/jobs/ID/yaml/ (the export: suite by name, metadata a mapping)."""
    job = results.read(log)[0]
    items = []
    for n, c in enumerate(job.cases, 1):
        meta = {"case": c.case, "definition": "0_shmconform", "result": c.result, "set": c.test_set,
                "measurement": c.measurement, "units": c.units}
        if export:
            items.append({"name": c.case, "job": str(job_id), "suite": "0_shmconform", "result": c.result,
                          "measurement": _decimal(c.measurement), "unit": c.units, "level": "", "id": str(n),
                          "url": f"/results/testcase/{n}", "logged": "2026-12-01 03:00:00+00:00",
                          "log_start_line": "", "log_end_line": "", "metadata": meta})
        else:
            items.append({"id": n, "resource_uri": f"https://lava.example/api/v0.2/jobs/{job_id}/suites/9/tests/{n}/",
                          "unit": c.units, "name": c.case, "result": c.result,
                          "measurement": None if c.measurement is None else _decimal(c.measurement),
                          "metadata": yaml.safe_dump(meta),
                          "start_log_line": 600 + n, "end_log_line": 600 + n, "logged": "2026-12-01T03:00:00Z",
                          "suite": 9, "test_set": 3 if c.test_set == "conformance-fake" else 4})
    lava_job = {"case": "job", "definition": "lava", "result": "pass"}
    if export:
        items.append({"name": "job", "job": str(job_id), "suite": "lava", "result": "pass", "measurement": "None",
                      "unit": "", "metadata": lava_job})
        tests = _write(tmp_path / f"job{job_id}-results.yaml", yaml.safe_dump(items))
    else:
        items.append({"id": 99, "resource_uri": f"https://lava.example/api/v0.2/jobs/{job_id}/suites/8/tests/99/",
                      "name": "job", "unit": "", "result": "pass", "measurement": None,
                      "metadata": yaml.safe_dump(lava_job), "suite": 8, "test_set": None})
        tests = _write(tmp_path / f"job{job_id}-tests.json",
                       json.dumps({"count": len(items), "next": None, "previous": None, "results": items}))
    definition = {"device_type": "qemu", "job_name": "shmconform", "metadata": {
        "shmconform.kernel": kernel, "shmconform.device_type": "qemu", "shmconform.arch": "amd64"}, "actions": []}
    details = _write(tmp_path / f"job{job_id}.json", json.dumps({
        "id": job_id, "submitter": "ci", "requested_device_type": "qemu", "actual_device": f"qemu-0{job_id % 10}",
        "state": "Finished", "health": "Complete", "definition": yaml.safe_dump(definition)}))
    return [tests, details]


def test_import_of_a_servers_api_results(tmp_path):
    files = _api_files(tmp_path, LOG_57, 4711, KERNEL, export=False) + \
        _api_files(tmp_path, LOG_56, 4712, "linux-image-6.1.0-56-cloud-amd64", export=True)
    rc, out = _import(tmp_path, *files)
    assert rc == 0
    run, _ = document.load(out / "report.json")
    assert [t.name for t in run.targets] == [f"lava:qemu:{KERNEL}", "lava:qemu:linux-image-6.1.0-56-cloud-amd64"]
    assert [t.environment["lava_job_id"] for t in run.targets] == ["4711", "4712"]
    assert [t.environment["lava_device"] for t in run.targets] == ["qemu-01", "qemu-02"]
    # The API has no console: a crash is LAVA's fail; every other verdict is the log's.
    expected = _statuses(document.load(_import(tmp_path / "log", LOG_57)[1] / "report.json")[0])
    expected = {t: {k: ("fail" if s == "crash" else s) for k, s in v.items()} for t, v in expected.items()}
    assert _statuses(run)[f"lava:qemu:{KERNEL}"] == expected[f"lava:qemu:{KERNEL}"]
    fails = [r for t in run.targets for r in t.results if r.name == "Fails"]
    assert [r.requirements for r in fails] == [["FAKE.REQ.FAILS"]] * 2   # from the listing


def test_results_of_a_job_without_its_results_file_are_refused(tmp_path, capfd):
    tests, details = _api_files(tmp_path, LOG_57, 4711, KERNEL, export=False)
    (tmp_path / "other").mkdir()
    other, _ = _api_files(tmp_path / "other", LOG_56, 4712, "k", export=True)
    rc, _ = _import(tmp_path, details, other)
    assert rc == 2 and "job 4711 has no results" in capfd.readouterr().err


# -- jobs: written, validated, run -------------------------------------------------
@pytest.fixture(scope="module")
def lava_run():
    if not os.access(dispatcher.LAVA_RUN, os.X_OK) and os.geteuid() != 0:
        pytest.skip("lava-dispatcher is not installed and installing it needs root (ci/bootstrap.sh lava)")
    dispatcher.ensure_lava_run()
    return dispatcher.LAVA_RUN


@pytest.fixture(scope="module")
def arm64_fake_build(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("fakearm64")
    (root / "conformance").mkdir()
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-O2", "-o", str(root / "conformance" / "conformance-fake"),
                    str(FAKE_SOURCE)], check=True)
    return root


@pytest.fixture
def http_dir(tmp_path):
    """A directory served over http on 127.0.0.1 (a lab's artifact server): (dir, port)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_every_job_the_writer_makes_passes_lava_run_validate(lava_run, fake_build, arm64_fake_build, http_dir,
                                                             tmp_path, capsys):
    # amd64: the Debian cloud kernel itself. arm64: lava-run --validate checks the job's
    # structure and that its files exist; the image here is a stand-in with an arm64
    # Image header and the host's busybox (no arm64 package index is needed for that).
    image = tmp_path / "Image"
    image.write_bytes(b"\0" * 0x38 + b"ARM\x64" + b"\0" * 64)
    jobs = [["--kernel", KERNEL, "--build-dir", str(fake_build)],
            ["--kernel", str(image), "--arch", "arm64", "--busybox", "/bin/busybox",
             "--build-dir", str(arm64_fake_build)],
            # A lab's job: files served over http (lava-run asks the server for each one's
            # size), the test definition from the project's git repository.
            ["--kernel", KERNEL, "--test-from", "git:https://git.example/shmconform.git@main",
             "--suite-url", "https://ci.example/shmconform-suite-amd64.tar.gz",
             "--artifacts-url", f"http://127.0.0.1:{http_dir[1]}/"]]
    for n, extra in enumerate(jobs):
        out = tmp_path / f"job{n}" if n < 2 else http_dir[0]
        assert cli.main(["lava", "job", "--out", str(out), "--validate", *extra]) == 0, extra
        assert "lava-run --validate" in capsys.readouterr().out
        assert list(out.glob("validate/scratch-*")) == []   # LAVA's scratch does not outlive it
        job = yaml.safe_load((out / "job.yaml").read_text())
        assert job["metadata"]["shmconform.device_type"] == "qemu"
        assert job["actions"][-1]["test"]["definitions"][0]["name"] == "shmconform"
    lab_job = yaml.safe_load((http_dir[0] / "job.yaml").read_text())
    assert lab_job["actions"][0]["deploy"]["images"]["kernel"]["url"] == f"http://127.0.0.1:{http_dir[1]}/vmlinuz-amd64"
    git_def = lab_job["actions"][-1]["test"]["definitions"][0]
    assert git_def["from"] == "git" and git_def["path"] == "ci/lava/shmconform.yaml"
    assert git_def["parameters"]["SUITE_URL"].startswith("https://ci.example/")


def test_lava_run_validate_rejects_a_broken_job(lava_run, fake_build, tmp_path):
    assert cli.main(["lava", "job", "--out", str(tmp_path), "--kernel", KERNEL, "--build-dir", str(fake_build)]) == 0
    job = yaml.safe_load((tmp_path / "job.yaml").read_text())
    del job["actions"][1]["boot"]["method"]
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    ok, why = dispatcher.validate(tmp_path / "job.yaml", tmp_path / "v", cli.cache_dir(), "qemu", "amd64")
    assert not ok and why


def _processes_naming(path: pathlib.Path) -> list[str]:
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(path).encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            pass
    return found


def test_lava_target_gives_the_qemu_targets_verdicts_on_the_same_kernel(lava_run, fake_build, tmp_path):
    # The real sysv and mmap binaries, and fakes that pass, fail, skip and crash
    # (linked, as a build may link them: the overlay must carry the files).
    static = builds.ensure("static", only=["conformance-sysv", "conformance-mmap"])
    mixed = tmp_path / "build"
    (mixed / "conformance").mkdir(parents=True)
    for b in (static / "conformance" / "conformance-sysv", static / "conformance" / "conformance-mmap",
              fake_build / "conformance" / "conformance-fake", fake_build / "conformance" / "conformance-crash"):
        (mixed / "conformance" / b.name).symlink_to(b)
    lava_tmp = pathlib.Path("/var/lib/lava/dispatcher/tmp")
    before = set(lava_tmp.iterdir()) if lava_tmp.is_dir() else set()
    # `shmconform run -t lava:qemu:K -t qemu:K`: one run, one report (exit 1: the fakes fail).
    rc = cli.main(["run", "-t", f"lava:qemu:{KERNEL}", "-t", f"qemu:{KERNEL}", "--build-dir", str(mixed),
                   "--preset-dir", f"static={mixed}", "--reports-dir", str(tmp_path / "runs"), "--no-build"])
    assert rc == 1
    lava, qemu = document.load(tmp_path / "runs" / "latest" / "report.json")[0].targets
    assert (lava.name, lava.kind, lava.status) == (f"lava:qemu:{KERNEL}", "lava", "ok"), lava.error
    assert qemu.status == "ok", qemu.error
    assert lava.environment["kernel_release"] == qemu.environment["kernel_release"]
    verdicts = {r.test_id: r.status for r in lava.results}
    assert len(verdicts) > 100
    assert verdicts["conformance-crash:Fake.Crashes"] == "crash" and verdicts["conformance-fake:Fake.Fails"] == "fail"
    assert verdicts == {r.test_id: r.status for r in qemu.results}
    # Requirement ids: both from the same listing (the real binaries list theirs; the fakes do not).
    assert {r.test_id: r.requirements for r in lava.results} == {r.test_id: r.requirements for r in qemu.results}
    assert all(r.requirements for r in lava.results if r.binary in ("conformance-sysv", "conformance-mmap"))
    # Nothing left behind: no process, no LAVA scratch, nothing in /var/lib/lava.
    assert _processes_naming(tmp_path) == []
    assert list((tmp_path / "runs").glob("*/work/*/round-*/lava/scratch-*")) == []
    assert (set(lava_tmp.iterdir()) if lava_tmp.is_dir() else set()) == before


@pytest.mark.parametrize("spec, says", [
    ("lava:qemu", "write lava:DEVICE_TYPE[/ARCH]:KERNEL"),
    ("lava:beaglebone-black:linux-image-6.1.0-57-armmp", "a board runs in its lab"),
    ("lava:qemu/mips:vmlinuz", "unknown architecture 'mips'"),
])
def test_a_lava_target_spec_that_makes_no_sense_is_one_line(spec, says):
    with pytest.raises(targets.TargetError) as e:
        targets.parse(spec)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_import_of_a_job_directory_skips_what_is_not_results(tmp_path):
    job_dir = tmp_path / "job-57"
    job_dir.mkdir()
    shutil.copy(LOG_57, job_dir / "job.log")
    # What lava-run leaves next to the log: the job's verdict and its pipeline.
    (job_dir / "result.yaml").write_text("case: job\ndefinition: lava\nresult: pass\n")
    (job_dir / "description.yaml").write_text("compatibility: 4\npipeline: []\n")
    rc, out = _import(tmp_path, job_dir)
    assert rc == 0
    run, _ = document.load(out / "report.json")
    assert [t.name for t in run.targets] == [f"lava:qemu:{KERNEL}"] and len(run.targets[0].results) == 6
    (job_dir / "job.log").unlink()
    assert _import(tmp_path / "again", job_dir)[0] == 2


def test_the_local_qemu_device_is_tcg_unless_kvm_is_asked_for(lava_run, tmp_path):
    cache = cli.cache_dir()
    tcg = yaml.safe_load(dispatcher.render_device(cache, "qemu", "amd64", 1024, tmp_path / "tcg.yaml").read_text())
    kvm = yaml.safe_load(dispatcher.render_device(cache, "qemu", "amd64", 1024, tmp_path / "kvm.yaml",
                                                  kvm=True).read_text())
    options = [o for d in (tcg, kvm) for o in [d["actions"]["boot"]["methods"]["qemu"]["parameters"]["options"]]]
    assert "-enable-kvm" not in options[0] and "-enable-kvm" in options[1]
    assert all("-m 1024" in o for o in options)
    assert tcg["actions"]["boot"]["methods"]["qemu"]["parameters"]["extra"] == ["-smp 2"]
