"""What differs: requirements whose outcome is not the same on every target, and per architecture
the requirements whose verdict changes between kernels."""
from __future__ import annotations

from harness import model
from harness.report import analysis, kernel_diff
from harness.report.html.markup import badge, e


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
