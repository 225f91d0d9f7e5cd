"""Compliance reports of a run: report.json, junit.xml, report.html, summary.md.

The harness calls write_all() after a run; the CLI verbs (report, compare,
merge) are in harness.report.cli. Every output is documented in reports/README.md.
"""
from __future__ import annotations

import pathlib
from typing import Any

from harness import model
from harness.report import document, html, junit, summary, waivers as waivers_mod
from harness.report.analysis import run_verdict
from harness.report.document import SCHEMA_VERSION, ReportError, load

__all__ = ["write_all", "load", "run_verdict", "ReportError", "SCHEMA_VERSION", "OUTPUTS"]
OUTPUTS = ("report.json", "junit.xml", "report.html", "summary.md")


def write_all(run: model.Run, out_dir: pathlib.Path, waivers: pathlib.Path | None = None, *,
              lcov_html: str | pathlib.Path | None = None,
              waiver_record: dict[str, Any] | None = None) -> dict[str, pathlib.Path]:
    """Apply the waivers (mutating run's results: fail -> xfail, pass -> xpass), then write the four
    outputs into out_dir. Returns {"report.json": path, "junit.xml": ..., "report.html": ..., "summary.md": ...}.

    lcov_html: path or URL of the suite's lcov HTML (linked from report.html); defaults to
    run.host["coverage_html"] when present. waiver_record: the "waivers" block of a report.json
    being re-rendered (so a previous application is undone first).
    The requirement catalog is the run's own (run.requirements, attached once by `shmconform run`).
    Raises ReportError (one-line message) on an unreadable or malformed waiver file.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = waiver_record or document.empty_waiver_record()
    if waivers is not None:
        record = waivers_mod.apply(run, waivers_mod.load(pathlib.Path(waivers)), record=record, source=str(waivers))
    if lcov_html is None:
        lcov_html = run.host.get("coverage_html") if isinstance(run.host, dict) else None
    paths = {name: out_dir / name for name in OUTPUTS}
    document.dump(document.to_document(run, record), paths["report.json"])
    junit.write(run, paths["junit.xml"])
    paths["report.html"].write_text(html.render(run, record, str(lcov_html) if lcov_html else None), encoding="utf-8")
    paths["summary.md"].write_text(summary.render(run, record), encoding="utf-8")
    return paths

