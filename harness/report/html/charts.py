"""Stress and benchmark sections: inline SVG bar charts (one colour per target) and their tables."""
from __future__ import annotations

from harness import model
from harness.report import perf
from harness.report.html.markup import PALETTE, badge, e, truncate


def legend(targets: list[model.TargetRun]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{e(t.name)}</span>' for i, t in enumerate(targets)) + "</div>"


def bar_chart(title: str, unit: str, higher_better: bool, groups: list[tuple[str, list[tuple[int, float | None]]]],
              what: str = "") -> str:
    """Horizontal bars, one group per benchmark/scenario, one bar per target (colour = target)."""
    label_w, bar_w, bar_h, gap, top = 300, 460, 13, 9, 24
    vmax = max((v for _, vals in groups for _, v in vals if v), default=0) or 1
    height = top + sum(len(vals) * bar_h + gap for _, vals in groups) + 4
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 90}" height="{height}" '
             f'role="img" aria-label="{e(title)}"><text class="t" x="0" y="14">{e(title)} '
             f'<tspan class="v">({e(what or unit)}, {"higher" if higher_better else "lower"} is better)</tspan></text>']
    y = top
    for label, vals in groups:
        gh = len(vals) * bar_h
        short = label if len(label) <= 46 else label[:44] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + gh / 2 + 4:.1f}" text-anchor="end"><title>{e(label)}</title>{e(short)}</text>')
        for j, (ti, v) in enumerate(vals):
            by = y + j * bar_h
            if v is None:
                parts.append(f'<text class="v" x="{label_w + 2}" y="{by + 10}">no result</text>')
                continue
            w = max(1.0, bar_w * v / vmax)
            parts.append(f'<rect x="{label_w}" y="{by + 1}" width="{w:.1f}" height="{bar_h - 2}" rx="2" '
                         f'fill="{PALETTE[ti % len(PALETTE)]}"><title>{e(perf.fmt(v, unit))}</title></rect>'
                         f'<text class="v" x="{label_w + w + 4:.1f}" y="{by + 10}">{e(perf.fmt(v, unit))}</text>')
        y += gh + gap
    parts.append("</svg>")
    return "".join(parts)


def stress_section(run: model.Run) -> str:
    targets = [(i, t) for i, t in enumerate(run.targets) if t.stress]
    if not targets:
        return ""
    per: dict[str, dict[int, perf.Stress]] = {}
    for i, t in targets:
        for entry in t.stress:
            if isinstance(entry, dict):
                s = perf.stress(entry)
                per.setdefault(s.scenario, {})[i] = s
    groups = [(name, [(i, per[name][i].ops_per_s if i in per[name] else None) for i, _ in targets]) for name in sorted(per)]
    chart = bar_chart("Verified operations per second", "ops/s", True, groups)
    rows = []
    for name in sorted(per):
        for i, t in targets:
            s = per[name].get(i)
            if s is None:
                continue
            lat = "; ".join(f"{e(op)} p50 {e(perf.fmt(p50, 'ns'))} / p99 {e(perf.fmt(p99, 'ns'))}"
                            for op, (p50, p99) in sorted(s.latency.items())) or "–"
            err = f'<span class="{"no" if s.errors else "ok"}">{s.errors}</span>' if s.errors is not None else "–"
            problems = (f'<details><summary>{len(s.problems)} problem(s)</summary><pre>{e(truncate(chr(10).join(s.problems)))}</pre></details>'
                        if s.problems else "")
            rows.append(f'<tr><td>{e(name)}</td><td>{e(t.name)}</td><td>{badge("pass" if s.ok else "fail", text="ok" if s.ok else "failed")}{problems}</td>'
                        f'<td class="num">{e(perf.fmt(s.ops_per_s, "ops/s"))}</td>'
                        f'<td class="num">{s.ops if s.ops is not None else "–"}</td><td class="num">{err}</td><td>{lat}</td></tr>')
    table = ('<table class="grid"><thead><tr><th>Scenario</th><th>Target</th><th>Result</th><th>ops/s</th><th>ops</th>'
             f'<th>errors</th><th>latency (p50 / p99)</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    # p99 latency per operation, targets side by side: where an emulator or sandbox pays.
    ops = sorted({(name, op) for name in per for s in per[name].values() for op in s.latency})
    if ops:
        groups = [(f"{name}: {op}", [(i, per[name][i].latency.get(op, (None, None))[1] if i in per[name] else None)
                                     for i, _ in targets]) for name, op in ops]
        chart += bar_chart("Latency p99 per operation", "ns", False, groups, "ns, p99")
    return f'<section id="stress"><h2>Stress</h2>{legend([t for _, t in targets])}{chart}{table}</section>'


def bench_section(run: model.Run) -> str:
    targets = [(i, t) for i, t in enumerate(run.targets) if t.benchmarks]
    if not targets:
        return ""
    per = {i: perf.target_metrics(t) for i, t in targets}
    # One chart per family with several entries (e.g. sizes); single benchmarks share one chart per metric.
    order: list[str] = []
    info: dict[str, perf.Metric] = {}
    for i, _ in targets:
        for m in per[i].values():
            if m.name not in info:
                order.append(m.name)
                info[m.name] = m
    family_size: dict[tuple[str, str], int] = {}
    for n in order:
        key = (info[n].family, info[n].what)
        family_size[key] = family_size.get(key, 0) + 1
    charts_by: dict[tuple[str, str], list[str]] = {}
    for n in order:
        m = info[n]
        title = m.family if family_size[(m.family, m.what)] > 1 else "Other benchmarks"
        charts_by.setdefault((title, m.what), []).append(n)
    charts = []
    for (title, what), ns in sorted(charts_by.items(), key=lambda kv: (kv[0][0] == "Other benchmarks", kv[0])):
        groups = [(n[len(title):] if n.startswith(title + "/") else n,
                   [(i, per[i][n].value if n in per[i] else None) for i, _ in targets]) for n in ns]
        charts.append(bar_chart(title, info[ns[0]].unit, info[ns[0]].higher_better, groups, what))
    errors = [f"{t.name}: {err}" for _, t in targets for err in perf.bench_errors(t)]
    errors_html = (f'<p class="no">Benchmarks that produced no result:</p><pre>{e(chr(10).join(errors))}</pre>'
                   if errors else "")
    ratios = {i: perf.ratios(t) for i, t in targets}
    rnames: list[str] = []
    rby: dict[tuple[int, str], dict] = {}
    for i, rs in ratios.items():
        for r in rs or []:
            n = str(r.get("name", "?"))
            if n not in rnames:
                rnames.append(n)
            rby[(i, n)] = r
    head = "<tr><th>Ratio</th><th>Goal</th>" + "".join(f"<th>{e(t.name)}</th>" for _, t in targets) + "</tr>"
    body = []
    for n in rnames:
        goal = next((rby[(i, n)].get("goal", "") for i, _ in targets if (i, n) in rby), "")
        cells = []
        for i, _ in targets:
            r = rby.get((i, n))
            if r is None:
                cells.append("<td>–</td>")
                continue
            v = r.get("value")
            vtxt = f"{v:.3g}" if isinstance(v, (int, float)) else "–"
            met = r.get("met")
            mark = '<span class="ok">✓</span>' if met is True else '<span class="no">✗</span>' if met is False else ""
            cells.append(f'<td class="num" title="{e(r.get("explanation", ""))}">{mark} {e(vtxt)}'
                         f'<div class="muted" style="font-size:11px;text-align:left">{e(r.get("explanation", ""))}</div></td>')
        body.append(f"<tr><td>{e(n)}</td><td>{e(goal)}</td>{''.join(cells)}</tr>")
    ratio_html = f'<h3>Against the physical limits</h3><table class="grid"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
    return (f'<section id="benchmarks"><h2>Benchmarks</h2>{legend([t for _, t in targets])}{errors_html}{ratio_html}'
            f'{"".join(charts)}</section>')
