"""LAVA results as they come back, read into one shape per job (LavaJob).

Accepted files (a directory stands for the files in it):
  job log      what lava-run prints (one {"dt", "lvl", "msg"} per line) or what a
               server returns for /api/v0.2/jobs/ID/logs/ (the same lines as a
               YAML list, "- {...}"). It carries every case ("lvl": "results"),
               the guest's console ("lvl": "target": gtest output, failure
               messages, the runner's @@SHMCONFORM- lines) and LAVA's own verdict.
  results      /api/v0.2/jobs/ID/tests/ (JSON, one page or a list of pages'
               "results"; each case's metadata is a YAML string naming its set)
               or /api/v0.2/jobs/ID/yaml/ (a YAML/JSON list of exported cases).
  job          /api/v0.2/jobs/ID/ (JSON or YAML): the definition, whose metadata
               names kernel, device type and architecture, and the device.
Anything else is a ResultsError with one line.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import re

import yaml

from harness import gtest

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # libyaml missing: the pure-Python loader reads the same
    _Loader = yaml.SafeLoader

MARK = "@@SHMCONFORM-"
SUITE_DEFINITION = re.compile(r"(?:\d+_)?shmconform")   # LAVA prefixes each definition with its index
RESULTS = ("pass", "fail", "skip", "unknown")


class ResultsError(Exception):
    """A file that is not LAVA results of a shmconform job; the message is one line."""


class ForeignFile(ResultsError):
    """Neither a job log nor results at all (in a directory: skipped, e.g. lava-run's result.yaml)."""


@dataclasses.dataclass
class LavaCase:
    test_set: str                    # the binary (conformance-sysv); "" when the case had no set
    case: str                        # LAVA case name (names.to_case of the gtest name)
    result: str                      # pass, fail, skip, unknown
    measurement: float | None = None
    units: str = ""


@dataclasses.dataclass
class LavaJob:
    source: str                      # the file(s) it came from
    job_id: str = ""
    cases: list[LavaCase] = dataclasses.field(default_factory=list)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)    # kernel, device_type, arch, device
    env: dict[str, str] = dataclasses.field(default_factory=dict)       # the probe's KEY=VALUE lines
    console: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # binary -> its output lines
    target_lines: list[str] = dataclasses.field(default_factory=list)        # the guest's whole console
    crashes: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)  # (binary, test) -> why
    crash_output: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)  # what it printed
    round_start: dict[str, int] = dataclasses.field(default_factory=dict)  # binary -> its last round's first line
    lava_result: str = ""            # LAVA's verdict on the job (its "job" case): pass, fail
    lava_error: str = ""
    finished: bool | None = None     # the runner's last line was seen (None: no log to tell)
    has_details: bool = False        # from a job file (labels only)
    duration_s: float = 0.0          # first to last log entry (a log), else the cases' durations


def _load_text(path: pathlib.Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ResultsError(f"{path}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ForeignFile(f"{path}: not text: not a LAVA job log or results file") from None


def _log_line(line: str):
    s = line.strip()
    if s.startswith("- "):
        s = s[2:]
    if not s.startswith("{"):
        return None
    try:
        return json.loads(s)
    except ValueError:
        pass
    try:  # LAVA writes some values with a YAML tag (! "635"): flow YAML, not JSON
        return yaml.load(s, Loader=_Loader)
    except yaml.YAMLError:
        return None


def _is_log_entry(obj) -> bool:
    return isinstance(obj, dict) and "lvl" in obj and "msg" in obj


def read(path: pathlib.Path) -> list[LavaJob]:
    """The jobs in one file or directory (ResultsError when it is not LAVA results)."""
    if path.is_dir():
        # A job's directory (lava-run's output next to its log, a download of the API's
        # files): what is neither a log nor results is skipped; a corrupt one is not.
        jobs: list[LavaJob] = []
        for f in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
            try:
                jobs += read(f)
            except ForeignFile:
                continue
        if not jobs:
            raise ResultsError(f"{path}: no LAVA job log or results in this directory")
        return jobs
    text = _load_text(path)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if _is_log_entry(_log_line(first)):
        return [_read_log(text, str(path))]
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError:
            raise ForeignFile(f"{path}: neither a LAVA job log nor LAVA results (not JSON or YAML)") from None
    return [_read_structured(data, str(path))]


# -- job logs ------------------------------------------------------------------
def _read_log(text: str, source: str) -> LavaJob:
    job = LavaJob(source, finished=False)
    current: str | None = None
    entries = 0
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        entry = _log_line(line)
        if not _is_log_entry(entry):
            # A log cut short (a killed dispatcher) may end in half a line; anything else is corrupt.
            if n == len(lines) and entries:
                continue
            raise ResultsError(f"{source}: line {n} is not a LAVA log entry: the job log is corrupt")
        entries += 1
        lvl, msg = entry["lvl"], entry["msg"]
        if lvl == "results" and isinstance(msg, dict):
            _log_result(job, msg)
        elif lvl == "target" and isinstance(msg, str):
            job.target_lines.append(msg)
            current = _target_line(job, msg, current)
    if not entries:
        raise ResultsError(f"{source}: an empty job log")
    job.duration_s = _span(lines)
    return job


def _span(lines: list[str]) -> float:
    stamps = []
    for line in (lines[0], *lines[-2:]):
        entry = _log_line(line)
        try:
            stamps.append(datetime.datetime.fromisoformat(str(entry["dt"])))
        except (TypeError, KeyError, ValueError):
            pass
    return round((max(stamps) - min(stamps)).total_seconds(), 3) if len(stamps) >= 2 else 0.0


def _record(job: LavaJob, definition: str, name, result, error_msg, test_set, measurement, units,
            source: str) -> None:
    """One LAVA result, from a job log or a server: LAVA's own "job" case gives the
    job's verdict, our definition's cases are the tests, anything else is not ours."""
    if definition == "lava":
        if name == "job":
            job.lava_result = str(result or "")
            job.lava_error = str(error_msg or "")
        return
    if SUITE_DEFINITION.fullmatch(definition):
        job.cases.append(_case(test_set, name, result, measurement, units, source))


def _log_result(job: LavaJob, msg: dict) -> None:
    _record(job, str(msg.get("definition", "")), msg.get("case"), msg.get("result"), msg.get("error_msg"),
            msg.get("set"), msg.get("measurement"), msg.get("units"), job.source)


def _target_line(job: LavaJob, msg: str, current: str | None) -> str | None:
    if msg.startswith(MARK):
        word, _, rest = msg[len(MARK):].partition(" ")
        if word == "ENV":
            key, sep, value = rest.partition("=")
            if sep:
                job.env[key.strip()] = value.strip()
        elif word == "LABEL":
            key, sep, value = rest.partition("=")
            if sep:
                job.labels[key.strip()] = value.strip()
        elif word == "BEGIN":
            current = rest.split(" ", 1)[0]
            job.round_start[current] = len(job.console.setdefault(current, []))
        elif word == "END":
            current = None
        elif word == "CRASH":
            binary, _, tail = rest.partition(" ")
            test, _, why = tail.partition(" ")
            job.crashes[(binary, test)] = why.strip()
            # The output of the test that died: the end of that binary's last round.
            lines = job.console.get(binary, [])[job.round_start.get(binary, 0):]
            job.crash_output[(binary, test)] = gtest.parse_console("\n".join(lines)).running_output
        elif word == "FINISHED":
            job.finished = True
        return current
    if current is not None:
        job.console[current].append(msg)
    return current


def _case(test_set, case, result, measurement, units, source: str) -> LavaCase:
    if not isinstance(case, str) or not case:
        raise ResultsError(f"{source}: a result without a case name: not LAVA results")
    result = str(result or "unknown").lower()
    if result not in RESULTS:
        raise ResultsError(f"{source}: case {case} has the result '{result}', which LAVA does not have")
    value = None
    if measurement not in (None, "", "None"):
        try:
            value = float(measurement)
        except (TypeError, ValueError):
            raise ResultsError(f"{source}: case {case} has a measurement that is not a number") from None
    return LavaCase(str(test_set or ""), case, result, value, str(units or ""))


# -- server API files ----------------------------------------------------------
def _read_structured(data, source: str) -> LavaJob:
    if isinstance(data, dict) and "definition" in data and ("id" in data or "actual_device" in data):
        return _read_job_details(data, source)
    items = None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        items = data["results"]                       # one page of /jobs/ID/tests/
    elif isinstance(data, list):
        items = []
        for x in data:                                # a list of cases, or of pages
            items += x["results"] if isinstance(x, dict) and isinstance(x.get("results"), list) else [x]
    if items is None or not all(isinstance(x, dict) and "name" in x and "result" in x for x in items):
        raise ForeignFile(f"{source}: not LAVA results (expected a job log, /api/v0.2/jobs/ID/tests/, "
                           f"/api/v0.2/jobs/ID/yaml/ or /api/v0.2/jobs/ID/)")
    job = LavaJob(source)
    ids = set()
    for x in items:
        meta = x.get("metadata") or {}
        if isinstance(meta, str):                     # REST: the case's metadata as a YAML document
            try:
                meta = yaml.load(meta, Loader=_Loader) or {}
            except yaml.YAMLError:
                meta = {}
        if not isinstance(meta, dict):
            meta = {}
        suite = x.get("suite")
        definition = str(meta.get("definition") or (suite if isinstance(suite, str) else ""))
        if x.get("job"):
            ids.add(str(x["job"]))
        else:
            m = re.search(r"/jobs/(\d+)/", str(x.get("resource_uri") or x.get("url") or ""))
            if m:
                ids.add(m.group(1))
        _record(job, definition, x.get("name"), x.get("result"), meta.get("error_msg"), meta.get("set"),
                x.get("measurement"), x.get("unit", x.get("units")), source)
    if len(ids) > 1:
        raise ResultsError(f"{source}: results of several jobs ({', '.join(sorted(ids))}) in one file: "
                           f"give one file per job")
    job.job_id = ids.pop() if ids else ""
    return job


def _read_job_details(data: dict, source: str) -> LavaJob:
    job = LavaJob(source, job_id=str(data.get("id", "")), has_details=True)
    try:
        definition = yaml.load(str(data["definition"]), Loader=_Loader)
    except yaml.YAMLError:
        raise ResultsError(f"{source}: the job's definition is not YAML") from None
    if not isinstance(definition, dict):
        raise ResultsError(f"{source}: the job's definition is not a LAVA job")
    meta = definition.get("metadata") or {}
    for key in ("kernel", "device_type", "arch"):
        value = meta.get(f"shmconform.{key}")
        if value:
            job.labels[key] = str(value)
    job.labels.setdefault("device_type", str(data.get("requested_device_type") or
                                             definition.get("device_type") or ""))
    if data.get("actual_device"):
        job.labels["device"] = str(data["actual_device"])
    job.lava_result = {"Complete": "pass", "Incomplete": "fail", "Canceled": "fail"}.get(
        str(data.get("health", "")), "")
    return job


def combine(jobs: list[LavaJob]) -> list[LavaJob]:
    """One LavaJob per job: a job file's labels go to the results of the same job id
    (or, when one job file and one results file came without ids, to those)."""
    details = [j for j in jobs if j.has_details]
    rest = [j for j in jobs if not j.has_details]
    for d in details:
        match = [j for j in rest if j.job_id and j.job_id == d.job_id]
        if not match and len(details) == 1 and len([j for j in rest if not j.job_id]) == 1:
            match = [j for j in rest if not j.job_id]
        if not match:
            raise ResultsError(f"{d.source}: job {d.job_id or '?'} has no results among the files given")
        for j in match:
            for k, v in d.labels.items():
                j.labels.setdefault(k, v)
            j.job_id = j.job_id or d.job_id
            j.lava_result = j.lava_result or d.lava_result
            j.source = f"{j.source} + {d.source}"
    return rest
