"""junit.xml: one <testsuite> per target, in the dialect GitLab, Jenkins and
the GitHub test-report actions read.

  pass            <testcase/>
  skip            <skipped message="reason"/>
  xfail           <skipped message="xfail: waiver reason"/>  (expected failure: not a CI failure)
  fail            <failure message="first line" type="fail">full text</failure>
  xpass           <failure message="stale waiver: ..." type="xpass"/>
  timeout, crash, error   <error message=... type="timeout|crash|error">
Requirement ids are <property name="requirement" value="ID"/> on each testcase, next to what
the test recorded with RecordProperty() (<property name="variant" value="raw"/>, ...);
the target's environment is the properties of its testsuite. A broken target
is one testcase with an <error>; IPC objects left behind are one <failure>;
each stress scenario is a testcase "TARGET.stress" / SCENARIO, a <failure> when it failed.
"""
from __future__ import annotations

import pathlib
import re
import xml.etree.ElementTree as ET

from harness import model
from harness.report import perf

# XML 1.0 forbids these characters even escaped; show them as \xNN instead.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: object) -> str:
    return _INVALID.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


def _first_line(text: str, limit: int = 300) -> str:
    line = next((l.strip() for l in text.splitlines() if l.strip()), "")
    return line[:limit]


def _sanitize_package(name: str) -> str:
    # Jenkins splits classname on dots into package.class; keep the target one package.
    return re.sub(r"[^A-Za-z0-9_:+-]", "_", name)


def _elem(parent, tag, text=None, **attrs):
    e = ET.SubElement(parent, tag, {k: clean(v) for k, v in attrs.items()})
    if text:
        e.text = clean(text)
    return e


def _testcase(suite, target: model.TargetRun, r: model.TestResult):
    case = _elem(suite, "testcase", classname=f"{_sanitize_package(target.name)}.{r.binary}.{r.suite}",
                 name=r.name, time=f"{r.duration_s:.3f}")
    props = _elem(case, "properties")
    for rid in r.requirements:
        _elem(props, "property", name="requirement", value=rid)
    for key, value in sorted(r.properties.items()):
        _elem(props, "property", name=key, value=value)
    _elem(props, "property", name="status", value=r.status)
    msg = r.message or ""
    if r.status == "skip":
        _elem(case, "skipped", message=_first_line(msg) or "skipped")
    elif r.status == "xfail":
        _elem(case, "skipped", msg, message="xfail: " + _first_line(msg), type="xfail")
    elif r.status == "fail":
        _elem(case, "failure", msg, message=_first_line(msg) or "failed", type="fail")
    elif r.status == "xpass":
        first = _first_line(msg)
        _elem(case, "failure", msg, message=first if first.startswith("stale waiver") else "stale waiver: " + first,
              type="xpass")
    elif r.status in ("timeout", "crash", "error"):
        _elem(case, "error", msg, message=f"{r.status}: " + (_first_line(msg) or r.status), type=r.status)
    if r.output:
        _elem(case, "system-out", r.output)
    return case


def render(run: model.Run) -> bytes:
    root = ET.Element("testsuites", name=clean(f"shmconform {run.run_id}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for target in run.targets:
        suite = _elem(root, "testsuite", name=target.name, timestamp=run.started or "",
                      hostname=str((target.environment or {}).get("hostname", target.name)))
        props = _elem(suite, "properties")
        _elem(props, "property", name="kind", value=target.kind)
        for key, value in sorted((target.environment or {}).items()):
            _elem(props, "property", name=key, value=value)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for r in target.results:
            _testcase(suite, target, r)
            counts["tests"] += 1
            if r.status in ("fail", "xpass"):
                counts["failures"] += 1
            elif r.status in ("timeout", "crash", "error"):
                counts["errors"] += 1
            elif r.status in ("skip", "xfail"):
                counts["skipped"] += 1
        if target.status == "broken":
            case = _elem(suite, "testcase", classname=f"{_sanitize_package(target.name)}.harness", name="target")
            _elem(case, "error", "\n".join(x for x in (target.error, target.console_tail) if x),
                  message="target broken: " + _first_line(target.error or "could not run"), type="broken")
            counts["tests"] += 1
            counts["errors"] += 1
        if target.leftovers:
            case = _elem(suite, "testcase", classname=f"{_sanitize_package(target.name)}.harness", name="leftovers")
            _elem(case, "failure", "\n".join(target.leftovers),
                  message=f"{len(target.leftovers)} IPC object(s) left behind", type="leftovers")
            counts["tests"] += 1
            counts["failures"] += 1
        for entry in target.stress:
            if not isinstance(entry, dict):
                continue
            st = perf.stress(entry)
            case = _elem(suite, "testcase", classname=f"{_sanitize_package(target.name)}.stress", name=st.scenario,
                         time=f"{float(st.extra.get('duration_s', 0) or 0):.3f}")
            counts["tests"] += 1
            if not st.ok:
                _elem(case, "failure", "\n".join(st.problems),
                      message=_first_line("\n".join(st.problems)) or "stress scenario failed", type="stress")
                counts["failures"] += 1
        duration = target.duration_s or sum(r.duration_s for r in target.results)
        total_time += duration
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{duration:.3f}")
        if target.console_tail and target.status != "broken":
            _elem(suite, "system-out", target.console_tail)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write(run: model.Run, path: pathlib.Path) -> None:
    path.write_bytes(render(run))

