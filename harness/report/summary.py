"""summary.md: a short Markdown summary for CI job pages ($GITHUB_STEP_SUMMARY,
GitLab/Jenkins descriptions): overall verdict, one line per target with its
POSIX/Linux verdicts and counts, and the failing requirements with the variant
(call path) a failure came from (capped, so the page stays short; the full list
is in report.html).
"""
from __future__ import annotations

from harness import model
from harness.oci import profile as oci_profile
from harness.report import analysis, kernel_diff

MAX_FAILURES = 30
ICON = {"pass": "✅", "fail": "❌", "broken": "💥", "none": "➖"}


def _cell(text: str) -> str:
    """Table-cell-safe: no pipes, no newlines, no raw HTML."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def render(run: model.Run, record: dict | None = None) -> str:
    verdict = analysis.run_verdict(run)
    lines = [f"## shmconform: {ICON.get(verdict, '')} {verdict.upper()}", "",
             f"Run `{_cell(run.run_id)}` · {len(run.targets)} target(s) · {len(run.requirements)} requirements", "",
             "| Target | Kernel | Verdict | POSIX | Linux | pass | fail | skip | xfail | other |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|"]
    for t in run.targets:
        v = analysis.target_verdict(t)
        p = analysis.profile_verdicts(run, t)
        c = v.counts
        other = sum(c.get(s, 0) for s in ("xpass", "timeout", "crash", "error"))
        env = t.environment or {}
        kernel = " ".join(str(env[k]) for k in ("kernel_release", "arch") if env.get(k)) or t.kind
        container = oci_profile.summary(env)
        if container:
            kernel += f" (container: {container})"
        note = f" ({_cell('; '.join(v.reasons))})" if v.verdict in ("fail", "broken") else ""
        lines.append(f"| {_cell(t.name)} | {_cell(kernel)} | {ICON.get(v.verdict, '')} {v.verdict}{note} | "
                     f"{p['posix'].verdict} | {p['linux'].verdict} | {c.get('pass', 0)} | {c.get('fail', 0)} | "
                     f"{c.get('skip', 0)} | {c.get('xfail', 0)} | {other} |")
    fails = analysis.failures(run)
    if fails:
        lines += ["", f"### Failing requirements ({len(fails)} test(s))", ""]
        for f in fails[:MAX_FAILURES]:
            where = ", ".join(f"{t} ({f.results[t].status})" for t in f.failing_targets())
            rids = ", ".join(f.requirements) or analysis.UNTAGGED
            stmt = " / ".join(str(run.requirements.get(r, {}).get("statement", "")) for r in f.requirements)
            variant = analysis.shared_properties(f.results[t] for t in f.failing_targets()).get("variant")
            how = f" ({_cell(analysis.property_text('variant', variant))})" if variant else ""
            lines.append(f"- **{_cell(rids)}** `{_cell(f.test_id)}`{how} on {_cell(where)}"
                         + (f" — {_cell(stmt)}" if stmt.strip(" /") else ""))
        if len(fails) > MAX_FAILURES:
            lines.append(f"- … and {len(fails) - MAX_FAILURES} more (see report.html)")
    changes = [(g.arch, c) for g in kernel_diff.by_architecture(run) for c in g.changes]
    if changes:
        lines += ["", f"### What changed between kernels ({len(changes)} requirement(s))", ""]
        for arch, c in changes[:MAX_FAILURES]:
            lines.append(f"- {_cell(arch)}: {_cell(kernel_diff.render_text(c))}")
        if len(changes) > MAX_FAILURES:
            lines.append(f"- … and {len(changes) - MAX_FAILURES} more (see report.html)")
    untested = [rid for a in analysis.coverage(run) for rid in a.untested]
    if untested:
        lines += ["", f"Requirements without a test: {', '.join(untested[:20])}" + (" …" if len(untested) > 20 else "")]
    if record and record.get("expired"):
        lines += ["", f"Expired waivers (not applied): {', '.join(_cell(w.get('label', '')) for w in record['expired'])}"]
    lines.append("")
    return "\n".join(lines)
