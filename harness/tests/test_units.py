"""Unit tests: gtest parsing, filters, target specs, the round script, the model."""
from __future__ import annotations

import base64
import json
import subprocess

import pytest

from harness import engine, gtest, model, script, targets, testlist
from harness.targets import incidents

JSON_REPORT = {
    "tests": 3,
    "testsuites": [{"name": "ShmgetTest", "testsuite": [
        {"name": "Passes", "status": "RUN", "result": "COMPLETED", "time": "0.004s", "classname": "ShmgetTest",
         "requirements": "SYSV.A.B,SYSV.C.D"},
        {"name": "Fails", "status": "RUN", "result": "COMPLETED", "time": "0s", "classname": "ShmgetTest",
         "requirements": "SYSV.A.B", "failures": [{"failure": "x.cc:3\nExpected: EEXIST\n  Actual: ENOENT", "type": ""}]},
        {"name": "Skips", "status": "RUN", "result": "SKIPPED", "time": "0s", "classname": "ShmgetTest"},
        {"name": "Raw/1", "value_param": "raw", "file": "x.cc", "line": 7, "status": "RUN", "result": "COMPLETED",
         "timestamp": "2026-12-01T05:59:49Z", "time": "0s", "classname": "Variant/ShmgetTest",
         "variant": "raw", "rounds": 40, "requirements": "SYSV.A.B",
         "failures": [{"failure": "x.cc:8\nExpected: 0", "type": ""}]},
        {"name": "Disabled", "status": "NOTRUN", "result": "SUPPRESSED", "time": "0s", "classname": "ShmgetTest"},
    ]}],
}

CONSOLE = """Running main() from x
[==========] Running 3 tests from 1 test suite.
[ RUN      ] ShmgetTest.Passes
[       OK ] ShmgetTest.Passes (4 ms)
[ RUN      ] Sizes/ShmgetSizeTest.Rounds/1
x.cc:9: Failure
Value of: size
[  FAILED  ] Sizes/ShmgetSizeTest.Rounds/1, where GetParam() = 4097 (2 ms)
[ RUN      ] ShmgetTest.Skips
x.cc:1: Skipped
no root
[  SKIPPED ] ShmgetTest.Skips (0 ms)
[ RUN      ] ShmgetTest.Crashes
about to crash
"""


def test_parse_json_maps_statuses_and_leaves_out_not_run():
    cases = gtest.parse_json(json.dumps(JSON_REPORT))
    assert [(c.full_name, c.status) for c in cases] == [
        ("ShmgetTest.Passes", "pass"), ("ShmgetTest.Fails", "fail"), ("ShmgetTest.Skips", "skip"),
        ("Variant/ShmgetTest.Raw/1", "fail")]
    assert cases[0].duration_s == pytest.approx(0.004)
    assert "Expected: EEXIST" in cases[1].message


def test_parse_json_keeps_what_the_test_recorded_and_none_of_gtests_own_keys():
    cases = {c.full_name: c for c in gtest.parse_json(json.dumps(JSON_REPORT))}
    assert cases["Variant/ShmgetTest.Raw/1"].properties == {"variant": "raw", "rounds": "40",
                                                             "requirements": "SYSV.A.B"}
    assert cases["ShmgetTest.Skips"].properties == {}


def test_console_output_carries_no_properties():
    assert all(c.properties == {} for c in gtest.parse_console(CONSOLE).finished)


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"tests": 1}', '{"testsuites": [{"testsuite": [{}]}]}'])
def test_parse_json_rejects_garbage_with_gtest_error(text):
    with pytest.raises(gtest.GtestError):
        gtest.parse_json(text)


def test_parse_console_recovers_finished_tests_and_the_one_running():
    cons = gtest.parse_console(CONSOLE)
    assert [(c.full_name, c.status) for c in cons.finished] == [
        ("ShmgetTest.Passes", "pass"), ("Sizes/ShmgetSizeTest.Rounds/1", "fail"), ("ShmgetTest.Skips", "skip")]
    assert "Value of: size" in cons.finished[1].message
    assert cons.finished[0].duration_s == pytest.approx(0.004)
    assert cons.running == "ShmgetTest.Crashes"
    assert cons.running_output == "about to crash"
    assert cons.started_any and not cons.completed


def test_parse_console_sees_the_final_summary():
    cons = gtest.parse_console("[ RUN      ] A.B\n[       OK ] A.B (0 ms)\n"
                               "[==========] 1 test from 1 test suite ran. (0 ms total)\n")
    assert cons.completed and cons.running is None


def test_listing_parse_reads_names_ids_and_places():
    text = json.dumps({"schema": 1, "binary": "conformance-x", "tests": [
        {"name": "Sizes/SizeTest.Rounds/0", "requirements": ["SYSV.A.B"], "file": "conformance/x.cc", "line": 7},
        {"name": "S.Untagged", "requirements": [], "file": "conformance/x.cc", "line": 9}]})
    assert testlist.parse(text) == [testlist.ListedTest("Sizes/SizeTest.Rounds/0", ("SYSV.A.B",), "conformance/x.cc", 7),
                                    testlist.ListedTest("S.Untagged", (), "conformance/x.cc", 9)]


@pytest.mark.parametrize("text", ["", "[]", '{"schema": 2, "tests": []}', '{"schema": 1}',
                                  '{"schema": 1, "tests": [{"name": "A.B"}]}',
                                  '{"schema": 1, "tests": [{"name": "A.B", "requirements": [1]}]}'])
def test_listing_parse_rejects_what_is_not_a_listing(text):
    with pytest.raises(testlist.ListingError) as e:
        testlist.parse(text, "conformance-x")
    assert "conformance-x" in str(e.value) and "\n" not in str(e.value)


def test_listing_of_the_fake_binary_honours_the_filter_and_is_cached(fake_build):
    binary = fake_build / "conformance" / "conformance-params"
    names = [t.name for t in testlist.list_tests(binary)]
    assert names == ["Sizes/Fake.Param/0", "Sizes/Fake.Param/1", "Fake.Untagged"]
    assert [t.requirements for t in testlist.list_tests(binary)] == [("FAKE.REQ.P0",), ("FAKE.REQ.P1",), ()]
    assert [t.name for t in testlist.list_tests(binary, "*-Fake.Untagged")] == names[:2]
    assert testlist.list_tests(binary) is testlist.list_tests(binary)
    reqs = testlist.Requirements(fake_build)
    assert reqs.of("conformance-params", "Sizes/Fake.Param/1") == ["FAKE.REQ.P1"]
    assert reqs.of("conformance-nosuch", "A.B") == [] and "conformance-nosuch" in reqs.errors()["conformance-nosuch"]


def test_a_binary_without_the_listing_is_never_run_to_list_it(tmp_path):
    old = tmp_path / "conformance-old"
    old.write_text("#!/bin/sh\ntouch " + str(tmp_path / "ran") + "\n")
    old.chmod(0o755)
    with pytest.raises(testlist.ListingError, match="does not implement --shmconform_list"):
        testlist.list_tests(old)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("pos,neg,expected", [
    (None, [], None),
    (None, ["A.B", "C.D"], "*-A.B:C.D"),
    (["A.*"], [], "A.*"),
    (["A.*:B.*-B.X"], ["A.Y"], "A.*:B.*-B.X:A.Y"),
])
def test_filter_expr(pos, neg, expected):
    assert gtest.filter_expr(pos, neg) == expected


def test_taint_values_decode_to_the_kernels_flag_letters():
    assert incidents.decode_taint(512) == "W (kernel issued warning)"
    assert incidents.decode_taint(512 | 128).startswith("D (kernel died recently")
    assert "W (kernel issued warning)" in incidents.decode_taint(640)
    assert incidents.decode_taint(0) == "none"
    assert incidents.decode_taint(1 << 30) == "bit 30 (unknown taint flag)"


def test_kernel_log_is_cut_at_the_invocations_marker():
    log = ("[1.0] boot\n[2.0] shmconform: begin r1-a\n[2.1] WARNING: old one\n"
           "[3.0] shmconform: begin r1-b\n[3.1] noise\n[3.2] WARNING: CPU: 0 PID: 9 at mm/x.c:1\n[3.3] Call Trace:\n")
    text = incidents.log_since_marker(log, "r1-b")
    assert "old one" not in text and "WARNING: CPU: 0" in text and "Call Trace" in text


@pytest.mark.parametrize("spec,cls", [
    ("local", targets.local.LocalTarget), ("ns", targets.local.NamespaceTarget),
    ("bwrap", targets.local.BwrapTarget), ('wrap:"firejail --quiet"', targets.local.WrapTarget),
    ("uml", targets.uml.UmlTarget), ("uml:/opt/linux", targets.uml.UmlTarget),
    ("qemu:/boot/vmlinuz-6.1", targets.qemu.QemuTarget), ("qemu:linux-image-cloud-amd64", targets.qemu.QemuTarget),
    ("qemu-user:armhf", targets.qemu_user.QemuUserTarget), ("qemu-user:aarch64", targets.qemu_user.QemuUserTarget),
    ("ssh:root@127.0.0.1:2222", targets.ssh.SshTarget), ("ssh:host", targets.ssh.SshTarget),
])
def test_target_specs_parse(spec, cls):
    t = targets.parse(spec)
    assert isinstance(t, cls) and t.name == spec


def test_target_spec_details():
    assert targets.parse('wrap:"env A=1"').prefix == "env A=1"
    assert str(targets.parse("uml").kernel) == "/usr/bin/linux.uml"
    ssh = targets.parse("ssh:me@example.org:2200")
    assert (ssh.user_host, ssh.port) == ("me@example.org", "2200")
    assert targets.parse("qemu-user:armhf").prefix == "qemu-arm"


@pytest.mark.parametrize("spec,words", [
    ("docker", "unknown target"), ("local:x", "unknown target"), ("qemu-user:sparc", "unknown architecture"),
    ("qemu", "name a kernel"), ("wrap:", "needs a command prefix"), ("ssh:bad host!", "USER@HOST"),
])
def test_bad_target_specs_give_one_line(spec, words):
    with pytest.raises(targets.TargetError) as e:
        targets.parse(spec)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_unframe_and_unlive_recover_files(tmp_path):
    payload = b"line one\n\x00binary\r\n"
    stream = (b"boot noise\r\n@@SHMCONFORM-FILE a.json\r\n" + base64.encodebytes(payload).replace(b"\n", b"\r\n")
              + b"@@SHMCONFORM-END a.json\r\n@@SHMCONFORM-FILE ../evil\nAAAA\n@@SHMCONFORM-END ../evil\n"
              + b"@@SHMCONFORM-FILE cut.out\nAAAA\n")
    targets.serial.unframe(stream, tmp_path)
    assert (tmp_path / "a.json").read_bytes() == payload
    assert not (tmp_path / "cut.out").exists() and not (tmp_path.parent / "evil").exists()
    targets.serial.unlive(b"@@SHMCONFORM-LIVE r1-x\n[ RUN      ] A.B\r\n", tmp_path)
    assert (tmp_path / "r1-x.out").read_bytes() == b"[ RUN      ] A.B\n"


def test_round_script_is_valid_sh_and_quotes_arguments(tmp_path):
    inv = script.Invocation("r1-x", ["/bin/echo", "it's", "a b", "--json:{R}/r1-x.json"], 5, 60)
    text = script.render([inv], results=str(tmp_path / "res"), probe="/bin/true", run_id="abc",
                         scratch=str(tmp_path / "scratch"))
    (tmp_path / "round.sh").write_text(text)
    subprocess.run(["sh", "-n", str(tmp_path / "round.sh")], check=True)
    subprocess.run(["sh", str(tmp_path / "round.sh")], check=True, timeout=60)
    res = tmp_path / "res"
    assert (res / "r1-x.out").read_text() == f"it's a b --json:{res}/r1-x.json\n"
    assert (res / "r1-x.rc").read_text().strip() == "0"
    assert (res / "round.done").exists()


def test_parse_env():
    env = engine.parse_env("kernel_release=6.1.0\narch=armv7l\npage_size=4096\nshmlba=16384\n"
                           "mem_total_kb=1024\nshm_rmid_forced=0\ngarbage line\n")
    assert env == {"kernel_release": "6.1.0", "arch": "armv7l", "page_size": 4096, "shmlba": 16384,
                   "memory_bytes": 1024 * 1024, "shm_rmid_forced": 0}


def test_model_round_trips_through_json():
    run = model.Run(run_id="x", started="2026-01-01T00:00:00+00:00")
    t = model.TargetRun(name="local", kind="host", environment={"page_size": 4096})
    t.results.append(model.TestResult("local", "conformance-sysv", "S", "N", "crash", ["A.B"], 0.5, "m", "o"))
    run.targets.append(t)
    again = model.Run.from_dict(json.loads(json.dumps(run.to_dict())))
    assert again == run
