"""The compliance reports: report.json (schema), junit.xml, report.html, summary.md,
waivers, compare and merge, on synthetic runs and on a run built from the
conformance binaries' real gtest JSON."""
from __future__ import annotations

import copy
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from harness import catalog, model
from harness import report
from harness.report import cli, document, html as html_mod, waivers
from harness.tests.synthetic import make_run


def write_all(run, out_dir, waivers_file=None, **kw):
    """write_all on the run as given (the harness attaches the catalog to a run, not the report)."""
    return report.write_all(run, out_dir, waivers_file, **kw)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "reports" / "report.schema.json").read_text())


def validate(doc: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def result(run: model.Run, target: str, test_id: str) -> model.TestResult:
    t = next(t for t in run.targets if t.name == target)
    return next(r for r in t.results if r.test_id == test_id)


def small_run() -> model.Run:
    """Two targets, four tests: one fails only on the emulator."""
    reqs = {"SYSV.SHMGET.EXCL_EXISTS": {"statement": "shmget with IPC_CREAT|IPC_EXCL on an existing key fails with EEXIST.",
                                        "sources": ["shmget(2) ERRORS"], "profile": "posix", "area": "sysv"},
            "SYSV.SHMAT.SHMLBA": {"statement": "shmat rounds down to SHMLBA with SHM_RND.", "sources": ["shmat(2) DESCRIPTION"],
                                  "profile": "linux", "area": "sysv"}}

    def target(name, kind, env, fail_status="pass", msg=""):
        return model.TargetRun(name=name, kind=kind, environment=env, results=[
            model.TestResult(name, "conformance-sysv", "ShmgetTest", "ExclOnExistingKeyFails", "pass", ["SYSV.SHMGET.EXCL_EXISTS"], 0.001),
            model.TestResult(name, "conformance-sysv", "ShmatTest", "RndRoundsDownToShmlba", fail_status, ["SYSV.SHMAT.SHMLBA"], 0.002,
                             msg, "shmlba probe: 16384\n" if msg else ""),
            model.TestResult(name, "conformance-sysv", "ShmatTest", "NeedsRoot", "skip", ["SYSV.SHMAT.SHMLBA"], 0.0, "needs root"),
        ])
    return model.Run(run_id="r1", started="2026-11-28T07:00:00Z", requirements=reqs, targets=[
        target("local", "host", {"kernel_release": "6.18.0-1-amd64", "arch": "x86_64"}),
        target("qemu-user:armhf", "qemu-user", {"kernel_release": "6.18.0-1-amd64", "arch": "armv7l"}, "fail",
               "shmat_test.cc:40: Failure\nExpected: address 0x40000000\n  Actual: 0x40001000 (not rounded to SHMLBA)"),
    ])


# --- report.json -----------------------------------------------------------------

def test_report_json_matches_schema_and_round_trips(tmp_path):
    run = make_run(3, 60)
    paths = write_all(run, tmp_path)
    assert sorted(paths) == ["junit.xml", "report.html", "report.json", "summary.md"]
    doc = json.loads(paths["report.json"].read_text())
    validate(doc)
    assert doc["schema_version"] == document.SCHEMA_VERSION
    loaded, record = document.load(tmp_path)
    assert loaded.to_dict() == run.to_dict()
    assert record["applied"] == []


def test_schema_rejects_a_bad_status(tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")
    doc = document.to_document(small_run())
    doc["targets"][0]["results"][0]["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_a_report_from_before_properties_still_loads(tmp_path):
    doc = document.to_document(small_run())
    doc["schema_version"] = "1.0"
    for t in doc["targets"]:
        for r in t["results"]:
            del r["properties"]
    validate(doc)
    document.dump(doc, tmp_path / "report.json")
    loaded, _ = document.load(tmp_path)
    assert all(r.properties == {} for t in loaded.targets for r in t.results)


def test_schema_rejects_a_property_that_is_not_a_string(tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")
    doc = document.to_document(small_run())
    doc["targets"][0]["results"][0]["properties"] = {"rounds": 40}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)


# --- what a test recorded (RecordProperty: the variant a result came from) --------

def recorded_run() -> model.Run:
    """small_run with the properties the suite's tests record: the emulator's failure came from the raw call."""
    run = small_run()
    for t in run.targets:
        result(run, t.name, "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").properties = {
            "variant": "raw", "namespace_mode": "direct" if t.name == "local" else "user_namespace"}
        result(run, t.name, "conformance-sysv:ShmgetTest.ExclOnExistingKeyFails").properties = {"variant": "libc,raw"}
    return run


def failure_card(page: str, test_id: str) -> str:
    start = page.index(f'id="{html_mod.anchor(test_id)}"')
    return page[start:page.index("</article>", start)]


def test_every_report_says_which_variant_a_result_came_from(tmp_path):
    run = recorded_run()
    paths = write_all(run, tmp_path)
    doc = json.loads(paths["report.json"].read_text())
    validate(doc)
    arm = next(t for t in doc["targets"] if t["name"] == "qemu-user:armhf")
    rnd = next(r for r in arm["results"] if r["name"] == "RndRoundsDownToShmlba")
    assert rnd["properties"] == {"variant": "raw", "namespace_mode": "user_namespace"}
    assert document.load(tmp_path)[0].to_dict() == run.to_dict()
    root = ET.fromstring(paths["junit.xml"].read_bytes())
    [case] = [c for c in root.iter("testcase")
              if c.get("name") == "RndRoundsDownToShmlba" and c.get("classname").startswith("qemu-user")]
    props = [(p.get("name"), p.get("value")) for p in case.findall("properties/property")]
    assert props == [("requirement", "SYSV.SHMAT.SHMLBA"), ("namespace_mode", "user_namespace"),
                     ("variant", "raw"), ("status", "fail")]
    page = paths["report.html"].read_text()
    card = failure_card(page, "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    assert '<span class="prop">variant: raw system call</span>' in card
    assert '<span class="prop">namespace mode: user_namespace</span>' in card
    matrix = page[page.index('id="mx"'):]
    # The test's row names its variant once; only the failing cell shows what differs per target.
    assert matrix.count("variant: raw system call") == 1
    assert "variant: C library call and raw system call (compared)" in matrix
    assert "namespace mode: user_namespace" in matrix and "namespace mode: direct" not in matrix
    assert "`conformance-sysv:ShmatTest.RndRoundsDownToShmlba` (variant: raw system call) on qemu-user:armhf" \
        in paths["summary.md"].read_text()


def test_failures_from_different_variants_are_not_merged_into_one_block():
    run = recorded_run()
    local = result(run, "local", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    arm = result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    local.status, local.message, local.output = arm.status, arm.message, arm.output
    card = failure_card(html_mod.render(run), "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    assert card.count('class="ftarget"') == 2  # same failure text, recorded in different namespaces
    local.properties = dict(arm.properties)
    card = failure_card(html_mod.render(run), "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    assert card.count('class="ftarget"') == 1


def test_an_expected_failure_names_its_variant(tmp_path):
    run = recorded_run()
    w = waiver_file(tmp_path, '''
[[waiver]]
requirement = "SYSV.SHMAT.SHMLBA"
kind = "qemu-user"
reason = "qemu-user maps at page granularity"
''')
    page = write_all(run, tmp_path / "out", w)["report.html"].read_text()
    waivers_html = page[page.index('id="waivers"'):]
    assert result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").status == "xfail"
    assert "<code>conformance-sysv:ShmatTest.RndRoundsDownToShmlba</code> " \
           '<span class="prop">variant: raw system call</span>' in waivers_html


def test_long_property_values_stay_in_report_json_only():
    run = recorded_run()
    result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").properties["trace"] = "x" * 500
    card = failure_card(html_mod.render(run), "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    assert "variant: raw system call" in card and "x" * 100 not in card


def test_the_property_a_binary_records_reaches_every_report(fake_build, tmp_path):
    """gtest JSON -> engine -> report.json, junit.xml, report.html: the fake's raw row fails."""
    from harness import engine, targets
    ctx = targets.Context(build_dir=fake_build, cache_dir=tmp_path / "cache", work_dir=tmp_path / "work",
                          run_id=f"prop{os.getpid()}")
    target = engine.run_target(targets.parse("local"), ctx, engine.Plan(binaries=["conformance-params"]))
    by = {r.test_id: r for r in target.results}
    assert by["conformance-params:Sizes/Fake.Param/1"].status == "fail"
    # The "requirements" property is the result's requirements already; the rest is kept as recorded.
    assert by["conformance-params:Sizes/Fake.Param/1"].properties == {"variant": "raw"}
    assert by["conformance-params:Sizes/Fake.Param/0"].properties == {"variant": "libc"}
    assert by["conformance-params:Fake.Untagged"].properties == {}
    paths = write_all(model.Run(run_id="prop", started="2026-12-01T06:00:00Z", targets=[target]), tmp_path / "out")
    doc = json.loads(paths["report.json"].read_text())
    validate(doc)
    assert {r["name"]: r["properties"] for r in doc["targets"][0]["results"]} == {
        "Param/0": {"variant": "libc"}, "Param/1": {"variant": "raw"}, "Untagged": {}}
    root = ET.fromstring(paths["junit.xml"].read_bytes())
    variants = {c.get("name"): [p.get("value") for p in c.findall("properties/property[@name='variant']")]
                for c in root.iter("testcase")}
    assert variants == {"Param/0": ["libc"], "Param/1": ["raw"], "Untagged": []}
    card = failure_card(paths["report.html"].read_text(), "conformance-params:Sizes/Fake.Param/1")
    assert "variant: raw system call" in card


# --- junit.xml -------------------------------------------------------------------

def test_junit_has_one_suite_per_target_and_ci_mappings(tmp_path):
    run = small_run()
    t = run.targets[0]
    t.results += [model.TestResult("local", "b", "S", "Hung", "timeout", [], 60.0, "killed after 60 s"),
                  model.TestResult("local", "b", "S", "Died", "crash", [], 0.1, "SIGSEGV"),
                  model.TestResult("local", "b", "S", "Odd", "error", [], 0.0, "garbage"),
                  model.TestResult("local", "b", "S", "Waived", "xfail", ["SYSV.SHMAT.SHMLBA"], 0.0, "waived by 'x': known"),
                  model.TestResult("local", "b", "S", "Stale", "xpass", [], 0.0, "stale waiver 'y'"),
                  model.TestResult("local", "b", "S", "Ctl\x01Char", "fail", [], 0.0, "bad byte \x00 here")]
    root = ET.fromstring(write_all(run, tmp_path)["junit.xml"].read_bytes())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["local", "qemu-user:armhf"]
    local = suites[0]
    assert (local.get("tests"), local.get("failures"), local.get("errors"), local.get("skipped")) == ("9", "2", "3", "2")
    cases = {c.get("name"): c for c in local.findall("testcase")}
    assert cases["ExclOnExistingKeyFails"].find("failure") is None
    assert cases["ExclOnExistingKeyFails"].get("classname") == "local.conformance-sysv.ShmgetTest"
    props = cases["ExclOnExistingKeyFails"].findall("properties/property[@name='requirement']")
    assert [p.get("value") for p in props] == ["SYSV.SHMGET.EXCL_EXISTS"]
    assert cases["NeedsRoot"].find("skipped").get("message") == "needs root"
    assert cases["Waived"].find("skipped").get("message").startswith("xfail: waived by")
    assert cases["Stale"].find("failure").get("message").startswith("stale waiver")
    assert cases["Hung"].find("error").get("type") == "timeout"
    assert cases["Died"].find("error").get("type") == "crash"
    assert cases["Odd"].find("error").get("type") == "error"
    assert cases["Ctl\\x01Char"].find("failure").text == "bad byte \\x00 here"
    arm = {c.get("name"): c for c in suites[1].findall("testcase")}
    assert "Actual: 0x40001000" in arm["RndRoundsDownToShmlba"].find("failure").text
    assert arm["RndRoundsDownToShmlba"].find("system-out").text.startswith("shmlba probe")
    assert suites[1].find("properties/property[@name='arch']").get("value") == "armv7l"
    assert root.get("tests") == "12"


def test_junit_reports_broken_targets_and_leftovers(tmp_path):
    run = small_run()
    run.targets[0].leftovers = ["sysv shm key 0x5c0f0001 id 42"]
    run.targets.append(model.TargetRun(name="uml", kind="uml", status="broken", error="kernel panic during boot",
                                       console_tail="Kernel panic - not syncing"))
    root = ET.fromstring(write_all(run, tmp_path)["junit.xml"].read_bytes())
    page = (tmp_path / "report.html").read_text()
    assert "the run left 1 IPC object(s) behind" in page and "sysv shm key 0x5c0f0001 id 42" in page
    assert "Kernel panic - not syncing" in page
    local, _, uml = root.findall("testsuite")
    assert local.find("testcase[@name='leftovers']/failure") is not None
    err = uml.find("testcase[@name='target']/error")
    assert err.get("message") == "target broken: kernel panic during boot" and "not syncing" in err.text


# --- waivers ---------------------------------------------------------------------

def waiver_file(tmp_path, body: str) -> pathlib.Path:
    p = tmp_path / "waivers.toml"
    p.write_text(body)
    return p


def test_waiver_turns_failure_into_xfail_and_passing_into_stale_xpass(tmp_path):
    run = small_run()
    w = waiver_file(tmp_path, '''
[[waiver]]
id = "armhf-shmlba"
requirement = "SYSV.SHMAT.*"
arch = "arm*"
kernel = ">=6.1, <7"
kind = "qemu-user"
reason = "qemu-user maps at page granularity, not SHMLBA (upstream bug 1234)"

[[waiver]]
test = "ShmgetTest.ExclOnExistingKeyFails"
target = "local"
reason = "was flaky on 6.17"
''')
    paths = write_all(run, tmp_path / "out", w)
    waived = result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    assert waived.status == "xfail"
    assert "qemu-user maps at page granularity" in waived.message and "Actual: 0x40001000" in waived.message
    stale = result(run, "local", "conformance-sysv:ShmgetTest.ExclOnExistingKeyFails")
    assert stale.status == "xpass" and stale.message.startswith("stale waiver")
    # The same test on the other target, and skips, are untouched.
    assert result(run, "local", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").status == "pass"
    assert result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.NeedsRoot").status == "skip"
    doc = json.loads(paths["report.json"].read_text())
    validate(doc)
    assert {(a["target"], a["status"]) for a in doc["waivers"]["applied"]} == {("qemu-user:armhf", "fail"), ("local", "pass")}
    page = paths["report.html"].read_text()
    assert "qemu-user maps at page granularity" in page and "stale waiver" in page
    assert "1 stale waiver(s)" in page
    summary = paths["summary.md"].read_text()
    assert "❌ FAIL" in summary  # the stale waiver fails the gate


def test_waiver_outside_its_kernel_range_or_arch_does_not_apply(tmp_path):
    run = small_run()
    w = waiver_file(tmp_path, '''
[[waiver]]
requirement = "SYSV.SHMAT.SHMLBA"
kernel = "<6.10"
reason = "fixed in 6.10"

[[waiver]]
requirement = "SYSV.SHMAT.SHMLBA"
arch = "aarch64"
reason = "other arch"
''')
    write_all(run, tmp_path / "out", w)
    assert result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").status == "fail"


def test_expired_waiver_is_listed_and_not_applied(tmp_path):
    run = small_run()
    w = waiver_file(tmp_path, '''
[[waiver]]
id = "old"
requirement = "SYSV.SHMAT.SHMLBA"
reason = "temporary"
expires = 2020-01-01
''')
    paths = write_all(run, tmp_path / "out", w)
    assert result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").status == "fail"
    doc = json.loads(paths["report.json"].read_text())
    assert [x["label"] for x in doc["waivers"]["expired"]] == ["old"] and doc["waivers"]["applied"] == []
    assert "Expired waivers" in paths["report.html"].read_text()
    assert "Expired waivers (not applied): old" in paths["summary.md"].read_text()
    # The day it expires it still applies.
    run2 = small_run()
    waivers.apply(run2, waivers.load(w), today=datetime.date(2020, 1, 1))
    assert result(run2, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").status == "xfail"


def test_reapplying_waivers_is_idempotent_and_reversible(tmp_path):
    run = small_run()
    w = waiver_file(tmp_path, '[[waiver]]\nrequirement = "SYSV.SHMAT.SHMLBA"\ntarget = "qemu-user:*"\nreason = "known"\n')
    write_all(run, tmp_path / "a", w)
    loaded, record = document.load(tmp_path / "a")
    empty = waiver_file(tmp_path, "")
    write_all(loaded, tmp_path / "b", empty, waiver_record=record)
    r = result(loaded, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    assert r.status == "fail" and r.message.startswith("shmat_test.cc:40")


@pytest.mark.parametrize("body, error", [
    ("[[waiver]]\nreason = 'x'\n", "names neither a requirement nor a test"),
    ("[[waiver]]\ntest = 'A.B'\n", "has no reason"),
    ("[[waiver]]\ntest = 'A.B'\nreason = 'x'\ntargte = 'uml'\n", "unknown key(s) targte"),
    ("[[waiver]]\ntest = 'A.B'\nreason = 'x'\nkernel = 'six'\n", "kernel range 'six'"),
    ("[[waiver]]\ntest = 'A.B'\nreason = 'x'\nexpires = 'soon'\n", "is not a date"),
    ("[[waiver]\n", "not valid TOML"),
])
def test_malformed_waiver_file_is_one_clear_error(tmp_path, body, error):
    with pytest.raises(waivers.WaiverError, match=None) as info:
        waivers.load(waiver_file(tmp_path, body))
    assert error in str(info.value) and "\n" not in str(info.value)


def test_kernel_ranges():
    r = waivers.parse_range(">=6.1, <6.7", "w")
    assert waivers.in_range("6.1.0-28-amd64", r) and waivers.in_range("6.6.9", r)
    assert not waivers.in_range("6.7.0", r) and not waivers.in_range("6.0", r) and not waivers.in_range("", r)
    assert waivers.in_range("6.1.0", waivers.parse_range("6.1", "w"))
    assert not waivers.in_range("6.18.0", waivers.parse_range("6.1", "w"))


# --- report.html -----------------------------------------------------------------

def test_markup_from_tests_and_kernels_is_escaped(tmp_path):
    run = small_run()
    evil = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
    r = result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba")
    r.message, r.output = evil, evil + "\x00"
    run.targets[1].environment["libc"] = evil
    run.targets[1].console_tail = evil
    run.targets[1].name = "qemu-user:<b>armhf</b>"
    for x in run.targets[1].results:
        x.target = run.targets[1].name
    run.requirements["SYSV.SHMAT.SHMLBA"]["statement"] = evil
    paths = write_all(run, tmp_path)
    page = paths["report.html"].read_text()
    assert "<script>document" not in page and "<img src=x" not in page and "<b>armhf" not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "\x00" not in page and "\\x00" in page
    assert page.count("<script>") == 1  # only the page's own
    assert "<script" not in paths["summary.md"].read_text()


def test_html_is_self_contained():
    page = html_mod.render(make_run(3, 60))
    for needle in ("http://", "https://", "<link", "src=\"", "@import", "url("):
        assert needle not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), needle
    assert "default-src 'none'" in page  # and the CSP forbids any fetch anyway


def test_html_shows_failure_with_requirement_difference_and_environment(tmp_path):
    page = html_mod.render(small_run())
    assert "shmat rounds down to SHMLBA with SHM_RND." in page  # the statement
    assert "shmat(2) DESCRIPTION" in page  # the source
    assert '<span class="l-exp">Expected: address 0x40000000</span>' in page
    assert '<span class="l-act">  Actual: 0x40001000 (not rounded to SHMLBA)</span>' in page
    assert "fails on qemu-user:armhf (6.18.0-1-amd64, armv7l); passes on local (6.18.0-1-amd64, x86_64)" in page
    assert 'id="mx"' in page and page.count('<tr class="req') == 2
    assert page.count('<tr class="req differs"') == 1  # SHMLBA fails on one target only: highlighted
    differences = page[page.index('id="differences"'):page.index('id="matrix"')]
    assert "<code>SYSV.SHMAT.SHMLBA</code>" in differences and "EXCL_EXISTS" not in differences
    assert "armv7l" in page and "Verdict per target" in page


def test_html_lists_requirements_without_tests_and_links_lcov(tmp_path):
    run = make_run(2, 30)
    paths = write_all(run, tmp_path, lcov_html="../coverage/index.html")
    page = paths["report.html"].read_text()
    assert "SYSV.SHMCTL.UNTESTED_ONE" in page and "MMAP.MSYNC.UNTESTED_TWO" in page
    assert 'href="../coverage/index.html"' in page
    assert "Requirements without a test: MMAP.MSYNC.UNTESTED_TWO, SYSV.SHMCTL.UNTESTED_ONE" in paths["summary.md"].read_text()


def test_html_charts_stress_and_benchmarks_per_target():
    page = html_mod.render(make_run(3, 30))
    assert 'id="stress"' in page and 'id="benchmarks"' in page
    assert page.count('<svg class="chart"') == 4  # stress ops/s and p99, benchmark GiB/s and time
    assert "sysv-churn: shmat" in page and "28.4 µs" in page  # p99 of shmat on an emulator (8100 ns x 3.5)
    assert "sysv-churn" in page and "BM_ShmRing/1048576" in page and "GiB/s" in page
    plain = make_run(2, 30, benchmarks=False)
    page = html_mod.render(plain)
    assert 'id="stress"' not in page and 'id="benchmarks"' not in page


def test_five_targets_by_five_hundred_tests_stay_small_and_fast(tmp_path):
    run = make_run(5, 500)
    start = time.monotonic()
    paths = write_all(run, tmp_path)
    elapsed = time.monotonic() - start
    size = paths["report.html"].stat().st_size
    print(f"5x500: report.html {size} bytes, report.json {paths['report.json'].stat().st_size} bytes, "
          f"junit.xml {paths['junit.xml'].stat().st_size} bytes, written in {elapsed:.2f} s")
    assert size < 1_500_000
    assert elapsed < 10
    assert len(paths["summary.md"].read_text()) < 8000


def test_summary_fits_a_step_summary():
    from harness.report import summary
    text = summary.render(small_run())
    assert text.startswith("## shmconform: ❌ FAIL")
    assert "| qemu-user:armhf | 6.18.0-1-amd64 armv7l | ❌ fail (1 failing) | pass | fail | 1 | 1 | 1 | 0 | 0 |" in text
    assert "**SYSV.SHMAT.SHMLBA** `conformance-sysv:ShmatTest.RndRoundsDownToShmlba` on qemu-user:armhf (fail)" in text


# --- compare and merge -----------------------------------------------------------

def test_compare_catches_an_injected_regression(tmp_path, capsys):
    base = make_run(2, 40)
    new = copy.deepcopy(base)
    r = new.targets[1].results[7]
    assert r.status == "pass"
    r.status, r.message = "fail", "Expected: 0\n  Actual: -1 (EINVAL)"
    fixed = next(x for x in new.targets[1].results if x.status == "timeout")
    fixed.status = "pass"
    new.targets[0].results.append(model.TestResult("local", "conformance-sysv", "NewTest", "Added", "pass", []))
    gone = new.targets[0].results.pop(0)
    new.targets[0].benchmarks[0]["benchmarks"][0]["real_time"] *= 1.5  # BM_ShmCycle 50 % slower
    write_all(base, tmp_path / "base")
    write_all(new, tmp_path / "new")
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert f"REGRESSION {r.test_id}: pass -> fail" in out
    assert f"fixed      {fixed.test_id}: timeout -> pass" in out
    assert "new        conformance-sysv:NewTest.Added (pass)" in out
    assert f"removed    {gone.test_id}" in out
    assert "slower     BM_ShmCycle" in out and "(+50 %)" in out
    assert out.rstrip().endswith("1 regression(s)")
    # Identical runs: exit 0; a slowdown gates only on request.
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "base" / "report.json")]) == 0
    r.status = "pass"
    write_all(new, tmp_path / "new")
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "new")]) == 0
    assert cli.main(["compare", "--fail-on-slowdown", str(tmp_path / "base"), str(tmp_path / "new")]) == 1


def test_merge_combines_runs_from_different_machines(tmp_path, capsys):
    a = make_run(1, 30)  # local on machine A
    b = make_run(4, 30)  # local, uml, qemu, armhf on machine B
    b.host = {"hostname": "ci-runner-7"}
    a.host = {"hostname": "laptop"}
    write_all(a, tmp_path / "a")
    write_all(b, tmp_path / "b")
    assert cli.main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")]) == 0
    merged, _ = document.load(tmp_path / "m")
    assert [t.name for t in merged.targets] == ["local@laptop", "local@ci-runner-7", "uml",
                                                "qemu:/boot/vmlinuz-6.1.0-28-amd64", "qemu-user:armhf"]
    assert all(r.target == t.name for t in merged.targets for r in t.results)
    assert sum(len(t.results) for t in merged.targets) == 5 * 30
    assert [s["run_id"] for s in merged.host["merged_from"]] == [a.run_id, b.run_id]
    validate(json.loads((tmp_path / "m" / "report.json").read_text()))
    page = (tmp_path / "m" / "report.html").read_text()
    assert page.count('<th data-t="') == 5


def test_report_verb_rerenders_with_waivers(tmp_path, capsys):
    write_all(small_run(), tmp_path / "run")
    w = waiver_file(tmp_path, '[[waiver]]\nrequirement = "SYSV.SHMAT.SHMLBA"\ntarget = "qemu-user:*"\nreason = "known"\n')
    assert cli.main(["report", str(tmp_path / "run"), "--waivers", str(w), "--out", str(tmp_path / "re")]) == 0
    run, record = document.load(tmp_path / "re")
    assert result(run, "qemu-user:armhf", "conformance-sysv:ShmatTest.RndRoundsDownToShmlba").status == "xfail"
    assert ("| qemu-user:armhf | 6.18.0-1-amd64 armv7l | ✅ pass | pass | pass | 1 | 0 | 1 | 1 | 0 |"
            in (tmp_path / "re" / "summary.md").read_text())


@pytest.mark.parametrize("content, error", [
    ("{ not json", "not valid JSON: line 1 column 3"),
    ('{"testsuites": [], "tests": 0}', "not a shmconform report (this is a gtest JSON file"),
    ("[1, 2]", "not a shmconform report (top level is a list"),
    ('{"schema_version": "9.0", "run_id": "x"}', "report schema 9.0 is not supported"),
    ('{"schema_version": "1.0", "run_id": "x", "started": "", "targets": [{"name": "a"}], "requirements": {}}',
     "invalid report at targets/0"),
    (b"\xff\xfe\x00garbage", "cannot read"),
])
def test_corrupt_or_foreign_json_is_one_error_line(tmp_path, capsys, content, error):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    write_all(small_run(), tmp_path / "good")
    for argv in (["compare", str(bad), str(tmp_path / "good")], ["merge", str(tmp_path / "good"), str(bad), "--out", str(tmp_path / "m")],
                 ["report", str(bad)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and error in err and "Traceback" not in err, err


def test_cli_runs_as_a_module_without_traceback(tmp_path):
    missing = tmp_path / "nope"
    proc = subprocess.run([sys.executable, "-m", "harness.report", "compare", str(missing), str(missing)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"shmconform: {missing}: no such file\n"


def test_register_adds_the_verbs_to_a_parser():
    import argparse
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["merge", "a", "b", "--out", "d"])
    assert args.func is cli.cmd_merge and args.runs == ["a", "b"]
    assert parser.parse_args(["compare", "x", "y"]).func is cli.cmd_compare
    assert parser.parse_args(["report", "x", "--waivers", "w"]).waivers == "w"


# --- a run of the real conformance binaries -----------------------------------

def test_report_of_a_real_run(tmp_path):
    """The harness's own conversion of the suite run here (engine, local target) renders."""
    from harness import engine, targets
    from harness.tests.conftest import build_dir
    ctx = targets.Context(build_dir=build_dir(), cache_dir=tmp_path / "cache", work_dir=tmp_path / "work",
                          run_id=f"rep{os.getpid()}")
    target = engine.run_target(targets.parse("local"), ctx, engine.Plan())
    run = model.Run(run_id="real-local", started="2026-11-28T07:00:00Z", targets=[target],
                    requirements=catalog.report_entries(catalog.load()))
    assert target.status == "ok" and target.results, target.error
    paths = write_all(run, tmp_path / "out")
    validate(json.loads(paths["report.json"].read_text()))
    root = ET.fromstring(paths["junit.xml"].read_bytes())
    assert int(root.get("tests")) == len(target.results)
    page = paths["report.html"].read_text()
    for r in target.results:
        assert r.name in page
        for rid in r.requirements:
            assert rid in page
    # Which call path each result came from: the TEST_P rows name it, and so does what they recorded.
    raw = [r for r in target.results if r.name.endswith("/raw") and r.status != "error"]
    assert raw and all(r.properties.get("variant") == "raw" for r in raw)
    assert "variant: raw system call" in page
    junit_variants = {p.get("value") for p in root.iter("property") if p.get("name") == "variant"}
    assert {"libc", "raw", "libc,raw"} <= junit_variants


def test_example_waiver_file_is_valid():
    ws = waivers.load(ROOT / "reports" / "waivers.example.toml")
    assert [w.label for w in ws] == ["qemu-user-shmlba", "uml-6.1-rmid-forced"]


@pytest.mark.parametrize("make", [
    lambda: model.Run(run_id="empty", started=""),
    lambda: model.Run(run_id="broken", started="", targets=[model.TargetRun("uml", "uml", status="broken", error="no such kernel")]),
    lambda: model.Run(run_id="nocatalog", started="", targets=[model.TargetRun("local", "host", results=[
        model.TestResult("local", "b", "S", "T", "fail", ["X.Y.Z"], 0.0, "boom"),
        model.TestResult("local", "b", "S", "U", "pass", [], 0.0)])]),
    lambda: model.Run(run_id="skips", started="", targets=[model.TargetRun("local", "host", results=[
        model.TestResult("local", "b", "S", "T", "skip", ["X.Y.Z"], 0.0, "no root")])]),
])
def test_degenerate_runs_render(tmp_path, make):
    run = make()
    paths = write_all(run, tmp_path)
    validate(json.loads(paths["report.json"].read_text()))
    ET.fromstring(paths["junit.xml"].read_bytes())
    page = paths["report.html"].read_text()
    assert page.rstrip().endswith("</html>")
    if run.run_id == "broken":
        assert "no such kernel" in page[page.index('id="failures"'):] and "broken" in paths["summary.md"].read_text()
    if run.run_id == "nocatalog":
        assert "(no requirement)" in page and "X.Y.Z" in page
    if run.run_id == "skips":
        assert "➖ NONE" in paths["summary.md"].read_text()


def test_the_attached_catalog_lists_requirements_no_test_named(tmp_path):
    """A run carries the whole catalog (attached once, by the harness), so the coverage lists untested ids."""
    run = small_run()
    run.targets[0].results = [r for r in run.targets[0].results if r.requirements != ["SYSV.SHMGET.EXCL_EXISTS"]]
    run.targets[1].results = list(run.targets[0].results)
    known = catalog.load()
    run.requirements = catalog.report_entries(known)
    paths = report.write_all(run, tmp_path)
    assert set(known) == set(run.requirements)
    assert run.requirements["SYSV.SHMGET.EXCL_EXISTS"]["statement"] == known["SYSV.SHMGET.EXCL_EXISTS"].statement
    # The summary lists only the first untested ids; the page's coverage table lists them all.
    assert "Requirements without a test:" in paths["summary.md"].read_text()
    coverage = paths["report.html"].read_text().split("Requirements without a test")[1]
    assert "SYSV.SHMGET.EXCL_EXISTS" in coverage


def test_a_run_where_everything_fails_stays_bounded(tmp_path):
    run = make_run(5, 500, benchmarks=False)
    for t in run.targets:
        for r in t.results:
            r.status, r.message, r.output = "fail", "Expected: 0\n  Actual: -1\n" + "detail\n" * 50, "x" * 20_000
    size = len(html_mod.render(run).encode())
    assert size < 4 * html_mod.MAX_FULL_FAILURES * html_mod.MAX_TEXT  # not 2500 x 20 KB


def test_failed_stress_scenario_fails_the_target_everywhere(tmp_path):
    run = make_run(2, 20)
    run.targets[1].stress[0].update(ok=False, exit_code=1, stderr="seed 1: worker 0 op 17 shmat: expected EIDRM, got EINVAL")
    run.targets[1].stress[0]["result"].update(errors=1, violations=["worker 0 op 17: shmat(id): expected EIDRM, got EINVAL"])
    paths = write_all(run, tmp_path)
    assert "1 stress scenario(s) failed" in paths["summary.md"].read_text()
    root = ET.fromstring(paths["junit.xml"].read_bytes())
    case = root.find("testsuite[@name='uml']/testcase[@name='sysv-churn']")
    assert case.get("classname") == "uml.stress" and "expected EIDRM, got EINVAL" in case.find("failure").get("message")
    assert root.find("testsuite[@name='local']/testcase[@name='sysv-churn']/failure") is None
    page = paths["report.html"].read_text()
    failures = page[page.index('id="failures"'):page.index('id="differences"')]
    assert "stress scenario <b>sysv-churn</b> failed on <b>uml (6.1.0, x86_64)</b>" in failures
    assert "worker 0 op 17: shmat(id): expected EIDRM, got EINVAL" in failures


def test_benchmark_ratios_come_from_bench_ratios(tmp_path, monkeypatch):
    from harness import bench_ratios
    seen = []

    def compute(reports):
        seen.append(reports)
        return [{"name": "ring_vs_memcpy_bandwidth/1 MiB", "value": 0.81, "goal": ">= 0.8", "met": True,
                 "explanation": "ring 10.1 GiB/s / memcpy 12.5 GiB/s = 0.81"},
                {"name": "futex_vs_pipe_round_trip", "value": 0.62, "goal": "<= 0.5", "met": False,
                 "explanation": "futex 3.9 us / pipe 6.3 us = 0.62"}]
    monkeypatch.setattr(bench_ratios, "compute", compute)
    run = make_run(2, 10)
    run.targets[1].benchmarks.append({"binary": "bench-msync", "error": "not a Google Benchmark report; exit 1",
                                      "stderr": "", "benchmarks": []})
    page = html_mod.render(run)
    assert len(seen) == 2 and isinstance(seen[0], list)  # once per target, all its reports together
    assert "Against the physical limits" in page and "ring 10.1 GiB/s / memcpy 12.5 GiB/s = 0.81" in page
    assert '<span class="no">✗</span> 0.62' in page and '<span class="ok">✓</span> 0.81' in page
    assert "uml: bench-msync: not a Google Benchmark report; exit 1" in page


def test_merge_of_runs_from_one_host_uses_run_ids():
    from harness.report import merge
    a, b = make_run(1, 5), make_run(1, 5)
    b.run_id = "second"
    merged, _ = merge.merge([(a, {}, "a"), (b, {}, "b")])
    assert [t.name for t in merged.targets] == ["local@synthetic-1x5", "local@second"]
    merged, _ = merge.merge([(a, {}, "a"), (copy.deepcopy(a), {}, "a")])
    assert [t.name for t in merged.targets] == ["local@run1", "local@run2"]
