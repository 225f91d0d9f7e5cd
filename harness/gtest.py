"""Reading what a GoogleTest binary says: its --gtest_output=json report (the
one reader of it in the project) and its console output (the only record when
it crashed or hung before writing the report). Which tests a binary has and
their requirement ids come from its listing: harness/testlist.py.
"""
from __future__ import annotations

import dataclasses
import json
import re

# "[ RUN      ] Suite.Name", "[       OK ] Suite.Name (3 ms)",
# "[  FAILED  ] Prefix/Suite.Name/0, where GetParam() = 4 (0 ms)"
_LINE_RE = re.compile(r"^\[ +(RUN|OK|FAILED|SKIPPED) +\] (\S+?)(?:,| \(|$)")
_TIME_RE = re.compile(r"\((\d+) ms\)\s*$")
_END_RE = re.compile(r"^\[==========\] \d+ tests? from \d+ test (?:suites?|cases?) ran\.")
MAX_OUTPUT = 64 * 1024
# The keys gtest itself writes on a test case of its JSON report (1.12 to 1.14); every other
# key is a value the test recorded with RecordProperty() (gtest refuses these names there).
GTEST_CASE_KEYS = frozenset({"name", "value_param", "type_param", "file", "line", "status", "result",
                             "timestamp", "time", "classname", "failures", "skipped"})


class GtestError(Exception):
    """The binary's report is not a GoogleTest JSON report."""


@dataclasses.dataclass
class Case:
    suite: str
    name: str
    status: str                       # pass, fail, skip (model statuses)
    duration_s: float = 0.0
    message: str = ""
    output: str = ""
    properties: dict[str, str] = dataclasses.field(default_factory=dict)  # RecordProperty() values

    @property
    def full_name(self) -> str:
        return f"{self.suite}.{self.name}"


def split_full_name(full: str) -> tuple[str, str]:
    """'Prefix/Suite.Name/0' -> ('Prefix/Suite', 'Name/0')."""
    suite, _, name = full.partition(".")
    return suite, name


def _trim(text: str, limit: int = MAX_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} bytes cut ...]\n" + text[-limit:]


def parse_json(text: str) -> list[Case]:
    """Every test case of a --gtest_output=json report (tests gtest did not run are left out)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise GtestError(f"not JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("testsuites"), list):
        raise GtestError("JSON without 'testsuites': not a GoogleTest report")
    cases = []
    try:
        for suite in data["testsuites"]:
            for t in suite.get("testsuite", []):
                if t.get("status") == "NOTRUN":
                    continue
                failures = [f.get("failure", "") for f in t.get("failures", []) or []]
                skipped = t.get("result") == "SKIPPED"
                if failures:
                    status = "fail"
                elif skipped:
                    status = "skip"
                else:
                    status = "pass"
                message = "\n".join(failures)
                if skipped and not message:
                    message = "\n".join(s.get("message", "") for s in t.get("skipped", []) or [])
                time_s = str(t.get("time", "0s")).rstrip("s") or "0"
                properties = {k: str(v) for k, v in t.items() if k not in GTEST_CASE_KEYS}
                cases.append(Case(t.get("classname", suite.get("name", "")), t["name"], status,
                                  float(time_s), message, properties=properties))
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise GtestError(f"malformed GoogleTest report ({e!r})") from None
    return cases


@dataclasses.dataclass
class ConsoleRun:
    """What the console output of one binary run tells."""
    finished: list[Case]              # in order; no properties (the console does not print them)
    running: str | None               # full name of a test started but never finished
    running_output: str               # its output so far
    completed: bool                   # gtest printed its final summary
    started_any: bool


def parse_console(text: str) -> ConsoleRun:
    finished: list[Case] = []
    current: str | None = None
    body: list[str] = []
    completed = started = False
    for line in text.splitlines():
        m = _LINE_RE.match(line)
        if m:
            kind, full = m.groups()
            if kind == "RUN":
                current, body, started = full, [], True
                continue
            if current is not None and full == current:
                status = {"OK": "pass", "FAILED": "fail", "SKIPPED": "skip"}[kind]
                t = _TIME_RE.search(line)
                suite, name = split_full_name(full)
                out = "\n".join(body)
                finished.append(Case(suite, name, status, int(t.group(1)) / 1000 if t else 0.0,
                                     out.strip() if status != "pass" else "", _trim(out)))
                current, body = None, []
                continue
        if _END_RE.match(line):
            completed = True
        if current is not None:
            body.append(line)
    return ConsoleRun(finished, current, _trim("\n".join(body)), completed, started)


def outputs_by_test(text: str) -> dict[str, str]:
    """Full test name -> the console lines it printed between RUN and its verdict."""
    return {c.full_name: c.output for c in parse_console(text).finished}


def filter_expr(positive: list[str] | None, negative: list[str]) -> str | None:
    """A --gtest_filter value: run `positive` patterns (all when None) except `negative` ones.
    A positive entry may itself be a full filter ("A*:B*-C*"); its negative part is kept."""
    pos, neg = [], list(negative)
    for p in positive or []:
        head, _, tail = p.partition("-")
        pos += [x for x in head.split(":") if x]
        neg = [x for x in tail.split(":") if x] + neg
    if positive is None and not neg:
        return None
    return ":".join(pos or ["*"]) + (f"-{':'.join(neg)}" if neg else "")
