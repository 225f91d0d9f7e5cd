"""The result model shared by the harness (which fills it) and the reports
(which render it). report.json is this model serialised with to_dict().

Statuses of one test result:
  pass, fail, skip       as gtest reported them
  xfail, xpass           a waiver matched a failure / a waived test passed
  timeout                the test hung and was killed
  crash                  the binary died (signal, abort) while the test ran
  error                  the harness could not run or understand the test
"""
from __future__ import annotations

import dataclasses
from typing import Any

STATUSES = ("pass", "fail", "skip", "xfail", "xpass", "timeout", "crash", "error")


@dataclasses.dataclass
class TestResult:
    target: str                   # target name, e.g. "local", "uml", "qemu-user:armhf"
    binary: str                   # "conformance-sysv"
    suite: str                    # gtest suite ("ShmgetTest", "Sizes/ShmgetSizeTest")
    name: str                     # gtest name
    status: str                   # one of STATUSES
    requirements: list[str] = dataclasses.field(default_factory=list)
    duration_s: float = 0.0
    message: str = ""             # failure text (expected/actual, errno names), skip reason, waiver reason
    output: str = ""              # captured output of the test, when any
    # What the test recorded with RecordProperty(): "variant" (libc, raw, "libc,raw": which call path
    # the result came from), "namespace_mode", ...; empty when only the console output told the result.
    properties: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def test_id(self) -> str:
        return f"{self.binary}:{self.suite}.{self.name}"


@dataclasses.dataclass
class TargetRun:
    name: str                     # "local", "uml", "qemu:/boot/vmlinuz-6.1.0-28-cloud-amd64"
    kind: str                     # "host", "namespace", "wrap", "uml", "qemu", "qemu-user", "ssh"
    status: str = "ok"            # "ok", or "broken" (could not boot/run at all; see error)
    error: str = ""
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    # kernel_release, kernel_version, arch, page_size, shmlba, libc, shmmax, shmall,
    # shmmni, shm_rmid_forced, virtualization, cpus, memory_bytes
    results: list[TestResult] = dataclasses.field(default_factory=list)
    console_tail: str = ""        # last lines of a VM console (panics, oopses, taints)
    leftovers: list[str] = dataclasses.field(default_factory=list)  # IPC objects the run left behind
    duration_s: float = 0.0
    stress: list[dict[str, Any]] = dataclasses.field(default_factory=list)      # stress scenario JSON results
    benchmarks: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # Google Benchmark JSON reports


@dataclasses.dataclass
class Run:
    run_id: str
    started: str                  # ISO 8601, UTC
    finished: str = ""
    tool_version: str = ""
    command: str = ""
    host: dict[str, Any] = dataclasses.field(default_factory=dict)
    targets: list[TargetRun] = dataclasses.field(default_factory=list)
    # The catalog entries the results refer to, so a report stands alone:
    # id -> {"statement", "sources", "profile", "area"}
    requirements: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Run":
        targets = []
        for t in data.get("targets", []):
            t = dict(t)
            t["results"] = [TestResult(**r) for r in t.get("results", [])]
            targets.append(TargetRun(**t))
        fields = {k: v for k, v in data.items() if k != "targets" and k in {f.name for f in dataclasses.fields(cls)}}
        return cls(targets=targets, **fields)
