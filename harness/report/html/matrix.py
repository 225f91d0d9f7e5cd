"""The requirements x targets matrix (filters, one row per requirement, its tests on expansion)
and the requirement coverage per area."""
from __future__ import annotations

from typing import Iterable

from harness import model
from harness.report import analysis
from harness.report.html.markup import LABELS, anchor, badge, e, properties_html


def _select(ident: str, label: str, options: Iterable[tuple[str, str]]) -> str:
    opts = "".join(f'<option value="{e(v)}">{e(t)}</option>' for v, t in options)
    return f'<select id="{ident}" aria-label="{e(label)}">{opts}</select>'


def matrix(run: model.Run, rows: list[analysis.Row], fail_ids: set[str]) -> str:
    targets = run.targets
    areas = sorted({r.area for r in rows})
    filters = ('<div class="filters"><input id="q" type="search" placeholder="Search id, statement, test name…" '
               'aria-label="search">'
               + _select("f-status", "status", [("", "any status"), ("failing", "failing"), ("differs", "differs between targets"),
                                                ("untested", "no test")] + [(s, s) for s in model.STATUSES])
               + _select("f-area", "area", [("", "every area")] + [(a, a) for a in areas])
               + _select("f-profile", "profile", [("", "POSIX and Linux"), ("posix", "POSIX"), ("linux", "Linux")])
               + _select("f-target", "target", [("", "every target")] + [(str(i), t.name) for i, t in enumerate(targets)])
               + '<span id="shown" class="muted"></span></div>')
    head = '<tr><th>Requirement</th>' + "".join(
        f'<th data-t="{i}">{e(t.name)}<small>{e((t.environment or {}).get("kernel_release", t.kind))}'
        f' {badge(analysis.target_verdict(t).verdict)}</small></th>' for i, t in enumerate(targets)) + "</tr>"
    ncols = len(targets) + 1
    body = []
    current = None
    area_counts: dict[str, int] = {}
    for r in rows:
        area_counts[r.area] = area_counts.get(r.area, 0) + 1
    for r in rows:
        if r.area != current:
            current = r.area
            body.append(f'<tr class="area" data-area="{e(r.area)}"><th colspan="{ncols}">{e(r.area)} '
                        f'<span class="muted">· {area_counts[r.area]} requirement(s)</span></th></tr>')
        stt, cells = [], []
        for i, t in enumerate(targets):
            results = r.cells.get(t.name, [])
            statuses = sorted({x.status for x in results})
            stt.append(",".join(statuses))
            if not results:
                label = "untested" if not r.tests else ("broken" if t.status == "broken" else "–")
                cls = "untested" if not r.tests else "none"
                cells.append(f'<td class="c s-{cls}" data-t="{i}">{label}</td>')
                continue
            w = analysis.worst(statuses)
            n_bad = sum(1 for x in results if x.status == w)
            text = LABELS.get(w, w or "?")
            if len(results) > 1:
                text += f" ×{len(results)}" if n_bad == len(results) else f" {n_bad}/{len(results)}"
            title = (' title="' + e("\n".join(f"{x.suite}.{x.name}: {x.status}" for x in results[:20])) + '"'
                     if len(results) > 1 else "")
            failing = next((x for x in results if x.status in analysis.FAILING and x.test_id in fail_ids), None)
            inner = f'<a href="#{anchor(failing.test_id)}">{e(text)}</a>' if failing else e(text)
            cells.append(f'<td class="c s-{w}" data-t="{i}"{title}>{inner}</td>')
        differs = r.differs()
        diff_html = (f'<div class="diff">≠ {e(analysis.difference_text(run, {t.name: r.status(t.name) for t in targets if r.status(t.name)}, labels=False))}</div>'
                     if differs else "")
        classes = "req" + (" differs" if differs else "") + (" untested" if not r.tests else "")
        expander = '<button class="x" aria-expanded="false" title="show tests">▸</button>' if r.tests else ""
        body.append(
            f'<tr class="{classes}" data-area="{e(r.area)}" data-profile="{e(r.profile)}" data-stt="{e("|".join(stt))}" '
            f'><td class="rid">{expander}<code>{e(r.rid)}</code> '
            f'<span class="prof">{e(r.profile)}</span><div class="stmt">{e(r.statement)}</div>{diff_html}</td>'
            + "".join(cells) + "</tr>")
        if r.tests:
            body.append(f'<tr class="detail" hidden><td colspan="{ncols}">{_detail(r, targets)}</td></tr>')
    return (filters + f'<table id="mx"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>')


def _detail(r: analysis.Row, targets: list[model.TargetRun]) -> str:
    by = {(t, x.test_id): x for t, xs in r.cells.items() for x in xs}
    src = f'<div class="muted">sources: {"; ".join(e(s) for s in r.sources)}</div>' if r.sources else ""
    rows = []
    for tid in r.tests:
        shared = analysis.shared_properties(x for (t, i), x in by.items() if i == tid)
        cells = []
        for i, t in enumerate(targets):
            x = by.get((t.name, tid))
            if x is None:
                cells.append(f'<td data-t="{i}">–</td>')
                continue
            if x.status == "pass":
                cells.append(f'<td data-t="{i}" class="s-pass">pass</td>')
                continue
            first = next((l for l in x.message.splitlines() if l.strip()), "")
            own = {k: v for k, v in x.properties.items() if k not in shared}
            cells.append(f'<td data-t="{i}">{badge(x.status)} <span class="muted">{e(first[:140])}</span>'
                         f'{properties_html(own)}</td>')
        rows.append(f"<tr><td><code>{e(tid)}</code>{properties_html(shared)}</td>{''.join(cells)}</tr>")
    return f'{src}<table class="tests"><tbody>{"".join(rows)}</tbody></table>'


def coverage(run: model.Run, rows: list[analysis.Row]) -> str:
    cov = analysis.coverage(run)
    if not cov:
        return '<p class="muted">The run carries no requirement catalog.</p>'
    tests_by_area: dict[str, set[str]] = {}
    for r in rows:
        tests_by_area.setdefault(r.area, set()).update(r.tests)
    body = []
    for a in cov:
        untested = " ".join(badge("untested", text=rid) for rid in a.untested) or '<span class="ok">none</span>'
        body.append(f'<tr><td>{e(a.area)}</td><td class="num">{len(a.requirements)}</td>'
                    f'<td class="num">{len(a.requirements) - len(a.untested)}</td>'
                    f'<td class="num">{len(tests_by_area.get(a.area, ()))}</td><td>{untested}</td></tr>')
    unknown = analysis.unknown_requirements(run)
    extra = (f'<p class="no">Tests name requirements the catalog does not hold: {", ".join(e(u) for u in unknown)}</p>'
             if unknown else "")
    return ('<table class="grid"><thead><tr><th>Area</th><th>Requirements</th><th>Tested</th><th>Tests</th>'
            f'<th>Requirements without a test</th></tr></thead><tbody>{"".join(body)}</tbody></table>{extra}'
            '<p class="muted">Each requirement\'s tests are listed in the matrix (▸ on its row).</p>')
