"""merge A B ...: one run (one matrix) from runs made on different machines.

Targets are concatenated. Two targets with the same name from different runs
(every machine has a "local") are told apart as NAME@HOST (the run's
host["hostname"]; the run id when two runs share a host; "runN" when both match). Requirement catalogs are united (a later
run's entry wins). Waiver records are concatenated.
"""
from __future__ import annotations

import copy
import datetime
from typing import Any

from harness import model
from harness.report.document import empty_waiver_record


def merge(runs: list[tuple[model.Run, dict[str, Any], str]]) -> tuple[model.Run, dict[str, Any]]:
    """runs: (run, waiver record, where it came from) -> (merged run, merged waiver record)."""
    names: dict[str, int] = {}
    for run, _, _ in runs:
        for t in run.targets:
            names[t.name] = names.get(t.name, 0) + 1
    targets: list[model.TargetRun] = []
    taken: set[str] = set()
    record = empty_waiver_record()
    requirements: dict[str, dict[str, Any]] = {}
    sources = []
    # What tells two runs apart: the host name, else the run id, else the position.
    hosts = [str(r.host.get("hostname") or "") if isinstance(r.host, dict) else "" for r, _, _ in runs]
    labels = []
    for n, (run, _, _) in enumerate(runs):
        if hosts[n] and hosts.count(hosts[n]) == 1:
            labels.append(hosts[n])
        elif [r.run_id for r, _, _ in runs].count(run.run_id) == 1:
            labels.append(run.run_id)
        else:
            labels.append(f"run{n + 1}")
    for (run, rec, where), host in zip(runs, labels):
        renames = {}
        for t in run.targets:
            t = copy.deepcopy(t)
            name = t.name if names[t.name] == 1 else f"{t.name}@{host}"
            base, n = name, 2
            while name in taken:
                name, n = f"{base}#{n}", n + 1
            taken.add(name)
            if name != t.name:
                renames[t.name] = name
                t.name = name
                for r in t.results:
                    r.target = name
            targets.append(t)
        requirements.update(run.requirements)
        for key in ("applied", "expired", "unused"):
            for item in rec.get(key, []):
                item = dict(item)
                if "target" in item:
                    item["target"] = renames.get(item["target"], item["target"])
                record[key].append(item)
        sources.append({"run_id": run.run_id, "file": where, "host": run.host, "started": run.started,
                        "targets": [renames.get(t.name, t.name) for t in run.targets]})
    record["file"] = ", ".join(sorted({r.get("file", "") for _, r, _ in runs if r.get("file")}))
    started = min((r.started for r, _, _ in runs if r.started), default="")
    finished = max((r.finished for r, _, _ in runs if r.finished), default="")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    merged = model.Run(run_id=f"merged-{stamp}", started=started, finished=finished,
                       tool_version=next((r.tool_version for r, _, _ in runs if r.tool_version), ""),
                       command="merge " + " ".join(w for _, _, w in runs),
                       host={"merged_from": sources}, targets=targets, requirements=requirements)
    return merged, record
