"""Expected failures: a TOML waiver file turns known failures into xfail.

Format (documented in reports/README.md, example in reports/waivers.example.toml):

    [[waiver]]
    id = "armhf-shmlba"                  # optional, a short name shown in reports
    requirement = "SYSV.SHMAT.*"         # requirement id glob, and/or
    test = "conformance-sysv:ShmatTest.*"  # test id glob ("binary:Suite.Name" or "Suite.Name")
    target = "qemu-user:*"               # optional: target name glob
    kernel = ">=6.1, <6.7"               # optional: kernel_release range
    arch = "arm*"                        # optional: environment arch glob
    kind = "qemu-user"                   # optional: runtime kind glob (host, uml, qemu, ...)
    reason = "why this failure is expected (bug link)"
    expires = 2027-01-31                 # optional: after this date the waiver no longer applies

A failing result (fail, timeout, crash, error) that an active waiver matches
becomes xfail; a passing one becomes xpass (a stale waiver). Skips are left
alone. Expired waivers are listed, never applied.
"""
from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import pathlib
import re
import tomllib
from typing import Any

from harness import model
from harness.report.analysis import BAD
from harness.report.document import ReportError, empty_waiver_record

KEYS = {"id", "requirement", "test", "target", "kernel", "arch", "kind", "reason", "expires"}
_CMP = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*([0-9][0-9.]*)\s*$")


class WaiverError(ReportError):
    pass


def version_tuple(text: str) -> tuple[int, ...]:
    """"6.18.0-1-amd64" -> (6, 18, 0)."""
    m = re.match(r"\d+(\.\d+)*", str(text).strip())
    return tuple(int(x) for x in m.group(0).split(".")) if m else ()


def _cmp(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def parse_range(text: str, where: str) -> list[tuple[str, tuple[int, ...]]]:
    out = []
    for part in str(text).split(","):
        m = _CMP.match(part)
        if not m:
            raise WaiverError(f"{where}: kernel range '{text}' is not like '>=6.1, <6.7'")
        out.append((m.group(1) or "==", version_tuple(m.group(2))))
    return out


def in_range(version: str, constraints: list[tuple[str, tuple[int, ...]]]) -> bool:
    v = version_tuple(version)
    if not v:
        return False
    ok = {">=": lambda c: c >= 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, "<": lambda c: c < 0,
          "==": lambda c: c == 0, "=": lambda c: c == 0, "!=": lambda c: c != 0}
    return all(ok[op](_cmp(v[:len(bound)] if op in ("==", "=", "!=") else v, bound)) for op, bound in constraints)


@dataclasses.dataclass
class Waiver:
    label: str
    reason: str
    requirement: str = ""
    test: str = ""
    target: str = ""
    kernel: str = ""
    arch: str = ""
    kind: str = ""
    expires: datetime.date | None = None
    kernel_range: list = dataclasses.field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("label", "requirement", "test", "target", "kernel", "arch", "kind", "reason")
             if getattr(self, k)}
        if self.expires:
            d["expires"] = self.expires.isoformat()
        return d

    def matches(self, target: model.TargetRun, result: model.TestResult) -> bool:
        env = target.environment or {}
        if self.requirement and not any(fnmatch.fnmatchcase(r, self.requirement) for r in result.requirements):
            return False
        if self.test and not (fnmatch.fnmatchcase(result.test_id, self.test)
                              or fnmatch.fnmatchcase(f"{result.suite}.{result.name}", self.test)):
            return False
        if self.target and not fnmatch.fnmatchcase(target.name, self.target):
            return False
        if self.arch and not fnmatch.fnmatchcase(str(env.get("arch", "")), self.arch):
            return False
        if self.kind and not fnmatch.fnmatchcase(target.kind, self.kind):
            return False
        if self.kernel_range and not in_range(str(env.get("kernel_release", "")), self.kernel_range):
            return False
        return True


def load(path: pathlib.Path) -> list[Waiver]:
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise WaiverError(f"{path}: cannot read waivers: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WaiverError(f"{path}: not valid TOML: {e}") from None
    extra = set(data) - {"waiver"}
    if extra:
        raise WaiverError(f"{path}: unknown table(s) {', '.join(sorted(extra))}; waivers are [[waiver]] entries")
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        raise WaiverError(f"{path}: 'waiver' must be an array of tables ([[waiver]])")
    waivers = []
    for n, entry in enumerate(entries, 1):
        where = f"{path.name} waiver #{n}"
        unknown = set(entry) - KEYS
        if unknown:
            raise WaiverError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(KEYS))})")
        for key in KEYS - {"expires"}:
            if key in entry and not isinstance(entry[key], str):
                raise WaiverError(f"{where}: '{key}' must be a string")
        if not entry.get("requirement") and not entry.get("test"):
            raise WaiverError(f"{where}: names neither a requirement nor a test")
        if not str(entry.get("reason", "")).strip():
            raise WaiverError(f"{where}: has no reason")
        expires = entry.get("expires")
        if isinstance(expires, datetime.datetime):
            expires = expires.date()
        elif isinstance(expires, str):
            try:
                expires = datetime.date.fromisoformat(expires)
            except ValueError:
                raise WaiverError(f"{where}: expires '{expires}' is not a date (YYYY-MM-DD)") from None
        elif expires is not None and not isinstance(expires, datetime.date):
            raise WaiverError(f"{where}: expires must be a date (YYYY-MM-DD)")
        label = entry.get("id") or entry.get("test") or entry.get("requirement")
        w = Waiver(label=label, reason=entry["reason"].strip(), expires=expires,
                   **{k: entry.get(k, "") for k in ("requirement", "test", "target", "kernel", "arch", "kind")})
        if w.kernel:
            w.kernel_range = parse_range(w.kernel, where)
        waivers.append(w)
    return waivers


def restore(run: model.Run, record: dict[str, Any]) -> None:
    """Undo a previous application (recorded in report.json), so re-applying is idempotent."""
    originals = {(a["target"], a["test"]): a for a in record.get("applied", [])}
    if not originals:
        return
    for target in run.targets:
        for r in target.results:
            a = originals.get((target.name, r.test_id))
            if a is not None and r.status in ("xfail", "xpass"):
                r.status, r.message = a["status"], a["message"]


def apply(run: model.Run, waivers: list[Waiver], today: datetime.date | None = None,
          record: dict[str, Any] | None = None, source: str = "") -> dict[str, Any]:
    """Mutates run's results; returns the record stored in report.json["waivers"]."""
    if record:
        restore(run, record)
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    active = [w for w in waivers if w.expires is None or w.expires >= today]
    out = empty_waiver_record()
    out["file"] = source
    out["expired"] = [w.describe() for w in waivers if w.expires is not None and w.expires < today]
    used: set[int] = set()
    for target in run.targets:
        for r in target.results:
            if r.status not in BAD and r.status != "pass":
                continue
            for i, w in enumerate(active):
                if not w.matches(target, r):
                    continue
                used.add(i)
                out["applied"].append({"target": target.name, "test": r.test_id, "status": r.status,
                                       "message": r.message, "waiver": w.describe()})
                if r.status == "pass":
                    r.status = "xpass"
                    r.message = (f"stale waiver '{w.label}': the test passes here; remove or narrow the waiver. "
                                 f"Waiver reason: {w.reason}")
                else:
                    original = f" (was {r.status})" if r.status != "fail" else ""
                    r.status = "xfail"
                    r.message = f"waived by '{w.label}'{original}: {w.reason}\n\n{r.message}".rstrip()
                break
    out["unused"] = [w.describe() for i, w in enumerate(active) if i not in used]
    return out
