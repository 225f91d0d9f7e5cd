"""The pieces every section of report.html is built from: escaping, status badges, long text cut
to size, gtest messages with Expected/Actual marked, a test's recorded properties, a failure's anchor."""
from __future__ import annotations

import html
import re
from typing import Any

from harness.report import analysis
from harness.report.junit import clean

PALETTE = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0")
MAX_TEXT = 16384  # per message/output shown in the page; report.json keeps everything
MAX_FULL_FAILURES = 150  # failures shown with their whole message and output
LABELS = {"pass": "pass", "fail": "fail", "skip": "skip", "xfail": "xfail", "xpass": "xpass",
          "timeout": "timeout", "crash": "crash", "error": "error", "none": "no result", "broken": "broken"}


def e(text: Any) -> str:
    return html.escape(clean("" if text is None else text), quote=True)


def badge(status: str, big: bool = False, text: str | None = None) -> str:
    return f'<span class="badge s-{e(status)}{" big" if big else ""}">{e(text or LABELS.get(status, status))}</span>'


def truncate(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    half = MAX_TEXT // 2
    return f"{text[:half]}\n… {len(text) - MAX_TEXT} characters omitted (all of it is in report.json) …\n{text[-half:]}"


_EXP = re.compile(r"^\s*(Expected|Expected equality)\b")
_ACT = re.compile(r"^\s*(Actual|Which is)\b")
_LOC = re.compile(r"^\S+\.(cc|cpp|h):\d+: ?(Failure|Skipped)?")


def message_pre(text: str) -> str:
    """The gtest failure text with Expected/Actual lines marked."""
    lines = []
    for line in truncate(text).splitlines():
        cls = "l-act" if _ACT.match(line) else "l-exp" if _EXP.match(line) else "l-loc" if _LOC.match(line) else ""
        lines.append(f'<span class="{cls}">{e(line)}</span>' if cls else e(line))
    return '<pre class="msg">' + "\n".join(lines) + "</pre>"


def properties_html(properties: dict[str, str]) -> str:
    """A result's short RecordProperty() values in words ("variant: raw system call"), as chips."""
    return "".join(f' <span class="prop">{e(text)}</span>' for text in analysis.properties_texts(properties))


def anchor(test_id: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "_", test_id)
