"""report.html: one self-contained page (inline CSS, JS and SVG; no network).

Every string that came from a test, a kernel or a user file goes through e()
(HTML-escaped, XML-invalid characters shown as \\xNN), so a test output
holding <script> is shown as text. The page is readable without JavaScript;
the script only adds the matrix filters and row expansion.
"""
from __future__ import annotations

import html
import pathlib
import re
from typing import Any, Iterable

from harness import model
from harness.oci import profile as oci_profile
from harness.report import analysis, kernel_diff, perf
from harness.report.document import SCHEMA_VERSION
from harness.report.junit import clean

ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
PALETTE = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0")
MAX_TEXT = 16384  # per message/output shown in the page; report.json keeps everything
MAX_FULL_FAILURES = 150  # failures shown with their whole message and output
LABELS = {"pass": "pass", "fail": "fail", "skip": "skip", "xfail": "xfail", "xpass": "xpass",
          "timeout": "timeout", "crash": "crash", "error": "error", "none": "no result", "broken": "broken"}


def e(text: Any) -> str:
    return html.escape(clean("" if text is None else text), quote=True)


def badge(status: str, big: bool = False, text: str | None = None) -> str:
    return f'<span class="badge s-{e(status)}{" big" if big else ""}">{e(text or LABELS.get(status, status))}</span>'


def _truncate(text: str) -> str:
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
    for line in _truncate(text).splitlines():
        cls = "l-act" if _ACT.match(line) else "l-exp" if _EXP.match(line) else "l-loc" if _LOC.match(line) else ""
        lines.append(f'<span class="{cls}">{e(line)}</span>' if cls else e(line))
    return '<pre class="msg">' + "\n".join(lines) + "</pre>"


def _env_short(target: model.TargetRun) -> str:
    env = target.environment or {}
    bits = [target.kind]
    if env.get("kernel_release"):
        bits.append(f"Linux {env['kernel_release']}")
    if env.get("arch"):
        bits.append(str(env["arch"]))
    if env.get("page_size"):
        bits.append(f"page {env['page_size']}")
    if env.get("shmlba"):
        bits.append(f"SHMLBA {env['shmlba']}")
    if env.get("huge_page_sizes"):
        free = f", {env['huge_pages_free']} free" if env.get("huge_pages_free") not in (None, "") else ""
        bits.append(f"huge pages {env['huge_page_sizes']}{free}")
    container = oci_profile.summary(env)   # what a container changed, next to its verdict
    return " · ".join(e(b) for b in bits) + (f"<br>container: {e(container)}" if container else "")


def _stack(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    spans = "".join(f'<span class="b-{s}" style="width:{100 * counts[s] / total:.2f}%" title="{s} {counts[s]}"></span>'
                    for s in analysis.RANK[::-1] if counts.get(s))
    return f'<div class="stack">{spans}</div>'


def _counts(counts: dict[str, int]) -> str:
    order = ("pass", "fail", "skip", "xfail", "xpass", "timeout", "crash", "error")
    return " · ".join(f'<span class="s-{s}" style="background:none">{LABELS[s]}</span> <b>{counts[s]}</b>'
                      for s in order if counts.get(s))


def _profile_badge(v: analysis.Verdict) -> str:
    """"PASS 375" or "FAIL 2/375": the verdict and how many of the profile's tests fail."""
    if not v.total:
        return badge("none", text="no tests")
    bad = sum(v.counts.get(s, 0) for s in analysis.FAILING)
    return badge(v.verdict, text=f"{v.verdict} {bad}/{v.total}" if bad else f"{v.verdict} {v.total}")


def verdict_cards(run: model.Run) -> str:
    out = []
    for i, t in enumerate(run.targets):
        v = analysis.target_verdict(t)
        prof = analysis.profile_verdicts(run, t)
        prof_html = " &nbsp; ".join(f"{label} {_profile_badge(prof[p])}" for p, label in (("posix", "POSIX"), ("linux", "Linux")))
        reasons = f'<div class="reasons">{e("; ".join(v.reasons))}</div>' if v.verdict in ("fail", "broken") else ""
        waived = f'<div class="prof muted">{v.counts["xfail"]} waived failure(s)</div>' if v.counts.get("xfail") else ""
        n_failing = sum(v.counts.get(x, 0) for x in analysis.FAILING)
        link = f'<a href="#mx:failing:{i}">failing rows in the matrix</a>' if n_failing else ""
        if t.status == "broken":
            prof_html = ""
        out.append(
            f'<div class="card v-{e(v.verdict)}"><div class="card-h"><span class="tname">{e(t.name)}</span>'
            f'{badge(v.verdict, big=True)}</div><div class="kern">{_env_short(t)}</div>{_stack(v.counts)}'
            f'<div class="counts">{_counts(v.counts) or "no results"}</div>'
            f'<div class="prof">{prof_html}</div>{reasons}{link and f"<div class=prof>{link}</div>"}{waived}</div>')
    return '<div class="cards">' + "".join(out) + "</div>"


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


def anchor(test_id: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "_", test_id)


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
        groups: dict[tuple[str, str, str], list[str]] = {}  # identical failures on several targets: shown once
        for tname in f.failing_targets():
            r = f.results[tname]
            groups.setdefault((r.status, r.message, r.output), []).append(tname)
        for (status, message, output), tnames in groups.items():
            out_html = ""
            if not full:
                message = "\n".join(message.splitlines()[:6])
                output = ""
            if output:
                n = output.count("\n") + 1
                out_html = f'<details><summary>output ({n} line{"s" if n != 1 else ""})</summary><pre>{e(_truncate(output))}</pre></details>'
            times = ", ".join(f"{f.results[t].duration_s:.3f} s" for t in tnames)
            blocks.append(f'<div class="ftarget"><b>{", ".join(e(t) for t in tnames)}</b> {badge(status)} '
                          f'<span class="muted">{times}</span>'
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
            tail = (f'<details open><summary>console tail</summary><pre>{e(_truncate(t.console_tail))}</pre></details>'
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


def differences(run: model.Run, rows: list[analysis.Row]) -> str:
    diffs = [r for r in rows if r.differs()]
    if len(run.targets) < 2:
        return '<p class="muted">One target: nothing to compare.</p>'
    if not diffs:
        return '<p class="empty">Every requirement has the same outcome on every target.</p>'
    body = "".join(
        f'<tr><td><code>{e(r.rid)}</code></td><td>{e(r.statement)}</td>'
        f'<td>{e(analysis.difference_text(run, {t: r.status(t) for t in r.cells if r.status(t)}))}</td></tr>'
        for r in diffs)
    return f'<table class="grid"><thead><tr><th>Requirement</th><th>Statement</th><th>Outcome</th></tr></thead><tbody>{body}</tbody></table>'


def kernel_changes(run: model.Run, groups: list[kernel_diff.ArchChanges]) -> str:
    """Per architecture with several kernels: the requirements whose verdict differs,
    one column per kernel in version order."""
    parts = []
    for g in groups:
        head = "".join(f'<th title="{e(k.target)}">{e(k.release)}'
                       f'{f"<br><small>{k.page_size // 1024} KiB pages</small>" if k.page_size else ""}'
                       f'<br><small>{e(k.target)}</small></th>' for k in g.kernels)
        if not g.changes:
            parts.append(f'<h3>{e(g.arch)}: {len(g.kernels)} kernels</h3>'
                         f'<p class="empty">Every requirement has the same outcome on every {e(g.arch)} kernel.</p>')
            continue
        rows = []
        for c in g.changes:
            status = {k.target: st for k, st in c.statuses}
            cells = "".join(f'<td>{badge(status[k.target]) if k.target in status else ""}</td>' for k in g.kernels)
            rows.append(f'<tr><td><code>{e(c.rid)}</code><div class="muted">{e(c.statement)}</div></td>{cells}</tr>')
        parts.append(f'<h3>{e(g.arch)}: {len(g.changes)} requirement(s) differ across {len(g.kernels)} kernels</h3>'
                     f'<table class="grid kernels"><thead><tr><th>Requirement</th>{head}</tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>')
    return "".join(parts)


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
            cells.append(f'<td data-t="{i}">{badge(x.status)} <span class="muted">{e(first[:140])}</span></td>')
        rows.append(f"<tr><td><code>{e(tid)}</code></td>{''.join(cells)}</tr>")
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


def _fmt_env(key: str, value: Any) -> str:
    if key.endswith("_bytes") and isinstance(value, (int, float)) and value >= 2**20:
        return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"
    return str(value)


def environment(run: model.Run) -> str:
    targets = run.targets
    keys: list[str] = []
    preferred = ["kernel_release", "kernel_version", "arch", "page_size", "shmlba", "libc", "shmmax", "shmall",
                 "shmmni", "shm_rmid_forced", "virtualization", "cpus", "memory_bytes"]
    for k in preferred + sorted({k for t in targets for k in (t.environment or {})}):
        if k not in keys and any(k in (t.environment or {}) for t in targets):
            keys.append(k)
    head = "<tr><th></th>" + "".join(f"<th>{e(t.name)}</th>" for t in targets) + "</tr>"
    rows = [f"<tr><th>kind</th>{''.join(f'<td>{e(t.kind)}</td>' for t in targets)}</tr>",
            f"<tr><th>status</th>{''.join(f'<td>{badge(analysis.target_verdict(t).verdict)} {e(t.error)}</td>' for t in targets)}</tr>",
            f"<tr><th>duration</th>{''.join(f'<td class=num>{t.duration_s:.1f} s</td>' for t in targets)}</tr>"]
    for k in keys:
        vals = [(t.environment or {}).get(k) for t in targets]
        rows.append(f"<tr><th>{e(k)}</th>" + "".join(
            f'<td class="mono">{e(_fmt_env(k, v)) if v is not None else "–"}</td>' for v in vals) + "</tr>")
    if any(t.leftovers for t in targets):
        rows.append("<tr><th>left behind</th>" + "".join(
            f'<td class="no mono">{"<br>".join(e(x) for x in t.leftovers) or "–"}</td>' for t in targets) + "</tr>")
    if any(t.console_tail for t in targets):
        rows.append("<tr><th>console tail</th>" + "".join(
            (f'<td><details><summary>{t.console_tail.count(chr(10)) + 1} lines</summary><pre>{e(_truncate(t.console_tail))}</pre></details></td>'
             if t.console_tail else "<td>–</td>") for t in targets) + "</tr>")
    return f'<div class="scroll"><table class="grid"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


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
            problems = (f'<details><summary>{len(s.problems)} problem(s)</summary><pre>{e(_truncate(chr(10).join(s.problems)))}</pre></details>'
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
                    rows.append(f'<tr><td><code>{e(f.test_id)}</code></td><td>{e(t)}</td>'
                                f'<td>{e(r.message.splitlines()[0] if r.message else "")}</td></tr>')
        parts.append(f'<h3>Expected failures ({len(rows)})</h3><table class="grid"><thead><tr><th>Test</th><th>Target</th>'
                     f'<th>Waiver</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    for title, items in (("Expired waivers (no longer applied)", expired), ("Waivers that matched nothing", unused)):
        if items:
            lis = "".join(f"<li><b>{e(w.get('label', ''))}</b>: {e(w.get('reason', ''))}"
                          f"{' — expired ' + e(w['expires']) if 'expires' in w else ''}</li>" for w in items)
            parts.append(f"<h3>{e(title)} ({len(items)})</h3><ul>{lis}</ul>")
    return f'<section id="waivers"><h2>Waivers</h2>{"".join(parts)}</section>'


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
