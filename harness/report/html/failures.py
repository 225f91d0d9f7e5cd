"""The failures of a run: one card per failing test (identical failures on several targets shown once),
cards for what is not one test's failure (a broken target, IPC objects left behind, a failed stress scenario),
and the waivers applied."""
from __future__ import annotations

from typing import Any

from harness import model
from harness.report import analysis, perf
from harness.report.html.markup import MAX_FULL_FAILURES, anchor, badge, e, message_pre, properties_html, truncate


def _req_head(run: model.Run, rids: list[str]) -> str:
    parts = []
    for rid in rids or [analysis.UNTAGGED]:
        req = run.requirements.get(rid, {})
        parts.append(f'<code class="rid">{e(rid)}</code><span class="stmt">{e(req.get("statement", ""))}</span>')
    return "<br>".join(parts)


def _req_meta(run: model.Run, f: analysis.Failure) -> str:
    profiles = sorted({analysis.profile_of(run, rid) for rid in f.requirements}) or ["unknown"]
    sources = []
    for rid in f.requirements:
        for s in run.requirements.get(rid, {}).get("sources", []):
            if s not in sources:
                sources.append(s)
    src = "; ".join(e(s) for s in sources) or "—"
    binary, _, case = f.test_id.partition(":")
    return (f'test <code>{e(f.test_id)}</code> · profile {e(", ".join(profiles))} · sources: {src}'
            f' · rerun: <code>{e(binary)} --gtest_filter={e(case)}</code>')


def failure_cards(run: model.Run, fails: list[analysis.Failure], problems: list[str] | None = None) -> str:
    if not fails and not problems:
        return '<p class="empty">No failures.</p>'
    out = list(problems or [])
    for n, f in enumerate(fails):
        full = n < MAX_FULL_FAILURES  # past that, the page stays small: first lines only, the rest is in report.json
        statuses = f.statuses()
        kind = analysis.worst(s for s in statuses.values() if s in analysis.FAILING)
        diff = analysis.difference_text(run, statuses) if len(statuses) > 1 else ""
        blocks = []
        groups: dict[tuple, list[str]] = {}  # identical failures on several targets: shown once
        for tname in f.failing_targets():
            r = f.results[tname]
            groups.setdefault((r.status, r.message, r.output, tuple(sorted(r.properties.items()))), []).append(tname)
        for (status, message, output, properties), tnames in groups.items():
            out_html = ""
            if not full:
                message = "\n".join(message.splitlines()[:6])
                output = ""
            if output:
                n = output.count("\n") + 1
                out_html = f'<details><summary>output ({n} line{"s" if n != 1 else ""})</summary><pre>{e(truncate(output))}</pre></details>'
            times = ", ".join(f"{f.results[t].duration_s:.3f} s" for t in tnames)
            blocks.append(f'<div class="ftarget"><b>{", ".join(e(t) for t in tnames)}</b> {badge(status)} '
                          f'<span class="muted">{times}</span>{properties_html(dict(properties))}'
                          f'{message_pre(message) if message else ""}{out_html}</div>')
        out.append(f'<article class="fcard k-{e(kind)}" id="{anchor(f.test_id)}"><div class="fh">{badge(kind)} '
                   f'{_req_head(run, f.requirements)}</div><div class="fmeta">{_req_meta(run, f)}</div>'
                   + (f'<div class="fdiff">{e(diff)}</div>' if diff else "") + "".join(blocks) + "</article>")
    return "".join(out)


def target_problem_cards(run: model.Run) -> list[str]:
    """Failures that are not one test's: a broken target, IPC objects left behind, a failed stress scenario."""
    cards = []
    for t in run.targets:
        label = e(analysis.target_label(t))
        if t.status == "broken":
            tail = (f'<details open><summary>console tail</summary><pre>{e(truncate(t.console_tail))}</pre></details>'
                    if t.console_tail else "")
            cards.append(f'<article class="fcard k-crash"><div class="fh">{badge("broken")} target <b>{label}</b> '
                         f'could not run</div><div class="ftarget">{message_pre(t.error or "no reason recorded")}{tail}</div></article>')
        if t.leftovers:
            cards.append(f'<article class="fcard"><div class="fh">{badge("fail")} <b>{label}</b>: the run left '
                         f'{len(t.leftovers)} IPC object(s) behind (removed by the harness)</div>'
                         f'<div class="ftarget"><pre>{e(chr(10).join(t.leftovers))}</pre></div></article>')
        for st in perf.failed_stress(t):
            cards.append(f'<article class="fcard"><div class="fh">{badge("fail")} stress scenario <b>{e(st.scenario)}</b> '
                         f'failed on <b>{label}</b></div><div class="ftarget">'
                         f'{message_pre(chr(10).join(st.problems) or "failed")}</div></article>')
    return cards


def waiver_section(run: model.Run, record: dict[str, Any]) -> str:
    xfails = analysis.failures(run, ("xfail",))
    applied = record.get("applied", [])
    expired, unused = record.get("expired", []), record.get("unused", [])
    if not (xfails or applied or expired or unused):
        return ""
    parts = [f'<p class="muted">Waiver file: <code>{e(record.get("file") or "—")}</code></p>']
    if xfails:
        rows = []
        for f in xfails:
            for t, r in f.results.items():
                if r.status == "xfail":
                    rows.append(f'<tr><td><code>{e(f.test_id)}</code>{properties_html(r.properties)}</td><td>{e(t)}</td>'
                                f'<td>{e(r.message.splitlines()[0] if r.message else "")}</td></tr>')
        parts.append(f'<h3>Expected failures ({len(rows)})</h3><table class="grid"><thead><tr><th>Test</th><th>Target</th>'
                     f'<th>Waiver</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    for title, items in (("Expired waivers (no longer applied)", expired), ("Waivers that matched nothing", unused)):
        if items:
            lis = "".join(f"<li><b>{e(w.get('label', ''))}</b>: {e(w.get('reason', ''))}"
                          f"{' — expired ' + e(w['expires']) if 'expires' in w else ''}</li>" for w in items)
            parts.append(f"<h3>{e(title)} ({len(items)})</h3><ul>{lis}</ul>")
    return f'<section id="waivers"><h2>Waivers</h2>{"".join(parts)}</section>'
