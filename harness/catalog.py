"""The requirement catalog: conformance/requirements/*.toml, one file per area.

Every requirement has a stable id, a one-sentence statement, its sources and
its profile. Tests name the ids they check (REQUIREMENTS(...) in C++), which
each binary's listing reports (harness/testlist.py). check() matches the two:
an id a test names must exist, and every requirement must have a test.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "conformance" / "requirements"
SEED_DIR = ROOT.parent / "shared" / "seed"

ID_RE = re.compile(r"^[A-Z0-9][A-Z0-9_]*(\.[A-Z0-9][A-Z0-9_]*)+$")
PROFILES = ("posix", "linux")
# "seed: <section title>", "shmget(2) ERRORS", "POSIX shmget"
MAN_RE = re.compile(r"^[a-z_][a-z0-9_.]*\([0-9][a-z]*\)( [A-Za-z_ ,/-]+)?$")
POSIX_RE = re.compile(r"^POSIX [A-Za-z_][A-Za-z0-9_ ./()-]*$")


class CatalogError(Exception):
    """The catalog itself is malformed; the message says where."""


@dataclasses.dataclass(frozen=True)
class Requirement:
    id: str
    statement: str
    sources: tuple[str, ...]
    profile: str
    area: str  # the file it comes from: "sysv", "mmap", ...

    @property
    def interface(self) -> str:
        return self.id.split(".")[1] if "." in self.id else ""


def seed_sections(seed_dir: pathlib.Path = SEED_DIR) -> set[str] | None:
    """Headings of the seed document, or None where it is not available."""
    if not seed_dir.is_dir():
        return None
    titles: set[str] = set()
    for path in seed_dir.glob("*.md"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                title = line.lstrip("#").strip().strip("*").strip()
                titles.add(title.replace("\\_", "_"))
    return titles


def _check_source(where: str, source: str, sections: set[str] | None) -> None:
    if source.startswith("seed: "):
        title = source[len("seed: "):]
        if sections is not None and title not in sections:
            raise CatalogError(f"{where}: seed section '{title}' is not a heading of the seed document")
        return
    if MAN_RE.match(source) or POSIX_RE.match(source):
        return
    raise CatalogError(f"{where}: source '{source}' is not 'seed: <section>', '<page>(<n>) <SECTION>' or 'POSIX <interface>'")


def load(catalog_dir: pathlib.Path = CATALOG_DIR, seed_dir: pathlib.Path = SEED_DIR) -> dict[str, Requirement]:
    """All requirements by id; CatalogError on any malformed entry."""
    sections = seed_sections(seed_dir)
    requirements: dict[str, Requirement] = {}
    files = sorted(catalog_dir.glob("*.toml"))
    if not files:
        raise CatalogError(f"{catalog_dir}: no catalog files (*.toml)")
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise CatalogError(f"{path.name}: not valid TOML: {e}") from None
        for n, entry in enumerate(data.get("requirement", []), 1):
            where = f"{path.name} requirement #{n}"
            missing = {"id", "statement", "sources", "profile"} - entry.keys()
            if missing:
                raise CatalogError(f"{where}: missing {', '.join(sorted(missing))}")
            rid = entry["id"]
            where = f"{path.name} {rid}"
            if not isinstance(rid, str) or not ID_RE.match(rid):
                raise CatalogError(f"{where}: malformed id")
            if rid in requirements:
                raise CatalogError(f"{where}: duplicate id (also in {requirements[rid].area}.toml)")
            if entry["profile"] not in PROFILES:
                raise CatalogError(f"{where}: profile must be one of {PROFILES}")
            statement = entry["statement"]
            if not isinstance(statement, str) or not statement.strip():
                raise CatalogError(f"{where}: empty statement")
            sources = entry["sources"]
            if not isinstance(sources, list) or not sources:
                raise CatalogError(f"{where}: sources must be a non-empty list")
            for source in sources:
                _check_source(where, source, sections)
            requirements[rid] = Requirement(rid, statement.strip(), tuple(sources), entry["profile"], path.stem)
    return requirements


@dataclasses.dataclass
class CheckResult:
    unknown: dict[str, list[str]]  # id -> tests naming it
    untested: list[str]
    untagged: list[str]  # tests naming no requirement

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.untested or self.untagged)

    def describe(self) -> str:
        lines = []
        for rid, tests in sorted(self.unknown.items()):
            lines.append(f"unknown requirement {rid} named by {', '.join(sorted(tests))}")
        for rid in self.untested:
            lines.append(f"requirement {rid} has no test")
        for test in self.untagged:
            lines.append(f"test {test} names no requirement")
        return "\n".join(lines)


def check(requirements: dict[str, Requirement], tests: dict[str, list[str]]) -> CheckResult:
    """tests: test name -> the requirement ids it names."""
    unknown: dict[str, list[str]] = {}
    tested: set[str] = set()
    untagged = []
    for test, ids in tests.items():
        if not ids:
            untagged.append(test)
        for rid in ids:
            if rid in requirements:
                tested.add(rid)
            else:
                unknown.setdefault(rid, []).append(test)
    untested = sorted(set(requirements) - tested)
    return CheckResult(unknown, untested, sorted(untagged))


def report_entries(requirements: dict[str, Requirement]) -> dict[str, dict]:
    """The catalog as a run carries it (model.Run.requirements), so a report stands alone."""
    return {rid: {"statement": r.statement, "sources": list(r.sources), "profile": r.profile, "area": r.area}
            for rid, r in sorted(requirements.items())}
