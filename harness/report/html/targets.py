"""The targets of a run: one verdict card each, and the environment table side by side."""
from __future__ import annotations

from typing import Any

from harness import model
from harness.oci import profile as oci_profile
from harness.report import analysis
from harness.report.html.markup import LABELS, badge, e, truncate


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
            (f'<td><details><summary>{t.console_tail.count(chr(10)) + 1} lines</summary><pre>{e(truncate(t.console_tail))}</pre></details></td>'
             if t.console_tail else "<td>–</td>") for t in targets) + "</tr>")
    return f'<div class="scroll"><table class="grid"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'
