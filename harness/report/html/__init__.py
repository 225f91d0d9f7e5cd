"""report.html: one self-contained page (inline CSS, JS and SVG; no network).

Every string that came from a test, a kernel or a user file goes through e()
(HTML-escaped, XML-invalid characters shown as \\xNN), so a test output
holding <script> is shown as text. The page is readable without JavaScript;
the script only adds the matrix filters and row expansion.

This module lays out the page; each section is built in its own module: markup (escaping, badges),
targets (verdict cards, environment), failures (failure cards, waivers), differences (between targets
and kernels), matrix (requirements x targets, coverage), charts (stress, benchmarks).
"""
from __future__ import annotations

import pathlib
from typing import Any

from harness import model
from harness.report import analysis, kernel_diff
from harness.report.document import SCHEMA_VERSION
from harness.report.html.charts import bar_chart, bench_section, legend, stress_section
from harness.report.html.differences import differences, kernel_changes
from harness.report.html.failures import failure_cards, target_problem_cards, waiver_section
from harness.report.html.markup import LABELS, MAX_FULL_FAILURES, MAX_TEXT, PALETTE, anchor, badge, e, message_pre
from harness.report.html.matrix import coverage, matrix
from harness.report.html.targets import environment, verdict_cards

__all__ = ["render", "e", "badge", "message_pre", "anchor", "LABELS", "MAX_TEXT", "MAX_FULL_FAILURES", "PALETTE",
           "verdict_cards", "failure_cards", "target_problem_cards", "waiver_section", "differences",
           "kernel_changes", "matrix", "coverage", "environment", "legend", "bar_chart", "stress_section",
           "bench_section"]
ASSETS = pathlib.Path(__file__).resolve().parent.parent / "assets"


def render(run: model.Run, record: dict[str, Any] | None = None, lcov_html: str | None = None) -> str:
    record = record or {}
    rows = analysis.matrix(run)
    fails = analysis.failures(run)
    problems = target_problem_cards(run)
    verdict = analysis.run_verdict(run)
    n_diff = sum(1 for r in rows if r.differs())
    kernel_groups = kernel_diff.by_architecture(run)
    kernels_html = (f'<section id="kernels"><h2>What changed between kernels</h2>'
                    f'<p class="muted">Requirements that pass on some kernels of an architecture and fail '
                    f'(or are a known deviation) on others, kernels in version order.</p>'
                    f'{kernel_changes(run, kernel_groups)}</section>') if kernel_groups else ""
    n_kernel = sum(len(g.changes) for g in kernel_groups)
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    js = (ASSETS / "report.js").read_text(encoding="utf-8").replace("</", "<\\/")
    stress, bench, waivers = stress_section(run), bench_section(run), waiver_section(run, record)
    nav = [("verdicts", "Verdicts"), ("failures", f"Failures ({len(fails) + len(problems)})"), ("differences", f"Differences ({n_diff})"),
           *([("kernels", f"Kernels ({n_kernel})")] if kernel_groups else []),
           ("matrix", "Matrix"), ("coverage", "Coverage"), ("environment", "Environment")]
    nav += [(k, t) for k, t, s in (("stress", "Stress", stress), ("benchmarks", "Benchmarks", bench),
                                    ("waivers", "Waivers", waivers)) if s]
    lcov = (f'<a href="{e(lcov_html)}">Code coverage of the suite (lcov)</a> · ' if lcov_html else "")
    meta = " · ".join(e(x) for x in (f"run {run.run_id}", run.started and f"started {run.started}",
                                     run.finished and f"finished {run.finished}", run.tool_version and f"shmconform {run.tool_version}",
                                     run.host.get("hostname") and f"host {run.host['hostname']}") if x)
    command = f'<div class="meta">command: <code>{e(run.command)}</code></div>' if run.command else ""
    total = sum(len(t.results) for t in run.targets)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>shmconform {e(verdict.upper())} — {e(run.run_id)}</title><style>{css}</style></head>
<body data-selfcheck="no-js">
<header><h1>shmconform compliance report</h1>{badge(verdict if verdict != "none" else "none", big=True, text=verdict.upper())}
<div><div class="meta">{meta} · {len(run.targets)} target(s) · {total} results · {len(run.requirements)} requirements</div>{command}</div></header>
<nav>{"".join(f'<a href="#{k}">{e(t)}</a>' for k, t in nav)}</nav>
<main>
<section id="verdicts"><h2>Verdict per target</h2>{verdict_cards(run)}</section>
<section id="failures"><h2>Failures</h2>{failure_cards(run, fails, problems)}</section>
<section id="differences"><h2>Differences between targets</h2>{differences(run, rows)}</section>
{kernels_html}
<section id="matrix"><h2>Requirements × targets</h2>{matrix(run, rows, {f.test_id for f in fails})}</section>
<section id="coverage"><h2>Requirement coverage</h2>{coverage(run, rows)}</section>
<section id="environment"><h2>Environment</h2>{environment(run)}</section>
{stress}{bench}{waivers}
</main>
<footer>{lcov}report.json is the source of truth (schema {SCHEMA_VERSION}) · generated by shmconform</footer>
<script>{js}</script>
</body></html>
"""
