"""report.json: the model serialised, plus a schema version and the waiver record.

report.json = run.to_dict() + {"schema_version": "1.1", "waivers": {...}}.
The schema is reports/report.schema.json. load() accepts a run directory or a
report.json file and raises ReportError with one line naming what is wrong.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any

from harness import model

SCHEMA_VERSION = "1.1"  # 1.1: results[].properties
ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "reports" / "report.schema.json"


class ReportError(Exception):
    """A report cannot be read or written; the message is one line for the user."""


def empty_waiver_record() -> dict[str, Any]:
    # applied: [{target, test, status (the original), message (the original), waiver}]
    # expired: [waiver descriptions], unused: [waivers that matched nothing]
    return {"file": "", "applied": [], "expired": [], "unused": []}


def to_document(run: model.Run, waiver_record: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = {"schema_version": SCHEMA_VERSION}
    doc.update(run.to_dict())
    doc["waivers"] = waiver_record if waiver_record is not None else empty_waiver_record()
    return doc


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def validate(doc: Any, where: str) -> None:
    """Structural checks (and the JSON Schema when python3-jsonschema is present)."""
    if not isinstance(doc, dict):
        raise ReportError(f"{where}: not a shmconform report (top level is a {type(doc).__name__}, not an object)")
    if "schema_version" not in doc:
        if "testsuites" in doc:
            raise ReportError(f"{where}: not a shmconform report (this is a gtest JSON file; "
                              "give the report.json of a run)")
        raise ReportError(f"{where}: not a shmconform report (no schema_version)")
    version = str(doc["schema_version"])
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ReportError(f"{where}: report schema {version} is not supported (this tool reads {SCHEMA_VERSION})")
    try:
        import jsonschema  # Debian python3-jsonschema; optional at run time
    except ImportError:
        jsonschema = None
    if jsonschema is not None and SCHEMA_PATH.exists():
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise ReportError(f"{where}: invalid report at {path}: {_one_line(error.message)[:200]}")
    elif not isinstance(doc.get("targets"), list):
        raise ReportError(f"{where}: invalid report: 'targets' is not a list")


def load(path: pathlib.Path) -> tuple[model.Run, dict[str, Any]]:
    """A run directory (holding report.json) or a report.json file -> (Run, waiver record)."""
    path = pathlib.Path(path)
    file = path / "report.json" if path.is_dir() else path
    if not file.exists():
        raise ReportError(f"{file}: no such file" + (" (is this a run directory?)" if path.is_dir() else ""))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"{file}: cannot read: {_one_line(e)}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportError(f"{file}: not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from None
    validate(doc, str(file))
    try:
        run = model.Run.from_dict(doc)
    except (TypeError, ValueError, AttributeError) as e:
        raise ReportError(f"{file}: invalid report: {_one_line(e)}") from None
    record = doc.get("waivers") or empty_waiver_record()
    return run, record


def dump(doc: dict[str, Any], path: pathlib.Path) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
