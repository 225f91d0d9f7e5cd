"""LAVA results -> a shmconform run: one target per job, so compare, merge and
the reports treat a lab's jobs like any other target.

A job becomes the target `lava:DEVICE_TYPE[/ARCH]:KERNEL` (ARCH when not amd64;
the same name the local `lava:` target has), with the environment the guest's
probe printed, the kernel and device from the job. Each LAVA case becomes a
test result: the test set is the binary, the case name maps back to the gtest
name (names.py), pass/fail/skip, the measurement its duration. From a job log
the gtest output gives each failure its message, and the runner's CRASH lines
turn a fail into crash or timeout, as a local run would record them.
Requirement ids come from the binaries' static listing (`BINARY
--shmconform_list`, or a saved listing JSON).
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib

from harness import engine, gtest, model, testlist
from harness.lava import names, results

KIND = "lava"


class ListingError(Exception):
    pass


class Requirements:
    """(binary, full gtest name) -> requirement ids, from the binaries' listings
    (harness/testlist.py): a saved listing JSON, a binary, or a build directory.
    strict: a source that cannot be listed is an error (the user named it);
    otherwise (the default build) its binaries simply have no ids, and
    errors() says why."""

    def __init__(self, sources: list[pathlib.Path], strict: bool = True):
        self.table: dict[tuple[str, str], list[str]] = {}
        self._errors: dict[str, str] = {}
        for src in sources:
            try:
                self._source(src)
            except (testlist.ListingError, ListingError) as e:
                if strict:
                    raise ListingError(str(e)) from None
                self._errors[str(src)] = str(e)

    def _source(self, src: pathlib.Path) -> None:
        if src.is_dir():
            for b in sorted((src / "conformance").glob("conformance-*")):
                if b.is_file() and os.access(b, os.X_OK):
                    self._add(b.name, testlist.list_tests(b))
        elif src.suffix == ".json":
            try:
                text = src.read_text()
                binary = json.loads(text).get("binary")
            except (OSError, ValueError, AttributeError) as e:
                raise ListingError(f"{src}: not a test listing ({getattr(e, 'strerror', None) or e})") from None
            if not isinstance(binary, str) or not binary:
                raise ListingError(f"{src}: a test listing without its binary's name")
            self._add(binary, testlist.parse(text, str(src)))
        elif src.is_file():
            self._add(src.name, testlist.list_tests(src))
        else:
            raise ListingError(f"{src}: no such listing, binary or build directory")

    def _add(self, binary: str, tests) -> None:
        for t in tests:
            self.table[(binary, t.name)] = list(t.requirements)

    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def lookup(self, binary: str, full: str) -> list[str]:
        return list(self.table.get((binary, full), []))


# -- one job -------------------------------------------------------------------
def target_name(job: results.LavaJob) -> str:
    device = job.labels.get("device_type") or "unknown-device"
    arch = job.labels.get("arch") or ""
    kernel = job.labels.get("kernel") or job.env.get("kernel_release") or "unknown-kernel"
    return f"lava:{device}{'/' + arch if arch and arch != 'amd64' else ''}:{kernel}"


def _console_cases(job: results.LavaJob, binary: str) -> dict[str, gtest.Case]:
    lines = job.console.get(binary)
    if not lines:
        return {}
    return {c.full_name: c for c in gtest.parse_console("\n".join(lines)).finished}


def to_target(job: results.LavaJob, reqs: Requirements, name: str | None = None) -> model.TargetRun:
    name = name or target_name(job)
    t = model.TargetRun(name=name, kind=KIND)
    env = engine.parse_env("\n".join(f"{k}={v}" for k, v in job.env.items()))
    device_type = job.labels.get("device_type", "")
    env["virtualization"] = f"LAVA device type {device_type or '?'}" + (
        f" ({job.labels['arch']})" if job.labels.get("arch") else "")
    for key in ("kernel", "device_type", "device"):
        if job.labels.get(key):
            env[f"lava_{key}"] = job.labels[key]
    if job.job_id:
        env["lava_job_id"] = job.job_id
    env["lava_source"] = job.source
    t.environment = env
    consoles: dict[str, dict[str, gtest.Case]] = {}
    for c in job.cases:
        binary = c.test_set or "unknown-binary"
        if binary not in consoles:
            consoles[binary] = _console_cases(job, binary)
        t.results.append(_result(job, c, binary, name, consoles[binary], reqs))
    t.duration_s = job.duration_s or round(sum(r.duration_s for r in t.results), 3)
    notes = []
    if job.finished is False:
        notes.append("the job ended before the suite finished")
    if job.lava_result == "fail":
        notes.append("LAVA: job incomplete" + (f": {job.lava_error}" if job.lava_error else ""))
    t.error = "; ".join(notes)
    if not t.results:
        t.status = "broken"
        t.error = t.error or "the job reported no shmconform test case"
    return t


def _result(job: results.LavaJob, c: results.LavaCase, binary: str, target: str,
            console: dict[str, gtest.Case], reqs: Requirements) -> model.TestResult:
    duration = c.measurement if c.measurement is not None and c.units in ("seconds", "s", "") else 0.0
    try:
        full = names.from_case(c.case)
    except ValueError:
        full = c.case                  # not written by our runner: keep it as LAVA has it
    if full == binary:                 # the runner's case for a binary that did not run at all
        why = job.crashes.get((binary, "-"), "the binary did not run as a GoogleTest binary")
        return model.TestResult(target, binary, "<binary>", binary, "error", [], duration, why)
    suite, test = gtest.split_full_name(full)
    status = {"pass": "pass", "fail": "fail", "skip": "skip"}.get(c.result, "error")
    message, output = "", ""
    seen = console.get(full)
    if seen is not None:
        output = seen.output if status != "pass" else ""
        message = seen.message
        if status == "skip":
            message = seen.output.split("Skipped\n", 1)[-1].strip()
    why = job.crashes.get((binary, full))
    if why and status == "fail":
        status = "timeout" if why.startswith("hung") else "crash"
        message, output = why, job.crash_output.get((binary, full), "")
    if c.result == "unknown":
        message = "LAVA recorded the result 'unknown'"
    return model.TestResult(target, binary, suite, test, status, reqs.lookup(binary, full), float(duration or 0.0),
                            message, gtest._trim(output))


# -- many jobs -----------------------------------------------------------------
def to_run(jobs: list[results.LavaJob], reqs: Requirements, command: str = "") -> model.Run:
    now = datetime.datetime.now(datetime.timezone.utc)
    run = model.Run(run_id="lava-" + now.strftime("%Y%m%d-%H%M%S"), started=now.isoformat(timespec="seconds"),
                    finished=now.isoformat(timespec="seconds"), command=command,
                    host={"hostname": "lava", "imported_from": [j.source for j in jobs]})
    counts: dict[str, int] = {}
    for j in jobs:
        counts[target_name(j)] = counts.get(target_name(j), 0) + 1
    taken: set[str] = set()
    for n, j in enumerate(jobs, 1):
        name = target_name(j)
        if counts[name] > 1:           # the same kernel on two devices of a type: tell the jobs apart
            name = f"{name}#{j.job_id or n}"
        while name in taken:
            name += "'"
        taken.add(name)
        run.targets.append(to_target(j, reqs, name))
    return run
