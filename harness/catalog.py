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
# A regression's fix: fixed_by = "<12-40 hex digits> (<commit title>)",
# first_fixed = "<major>.<minor>", the first release that has it.
FIXED_BY_RE = re.compile(r"^[0-9a-f]{12,40} \(.+\)$")
FIRST_FIXED_RE = re.compile(r"^[0-9]+\.[0-9]+$")
# The Open POSIX Test Suite mapping lives beside the catalog but is no area.
OPEN_POSIX_FILE = "open_posix.toml"


class CatalogError(Exception):
    """The catalog itself is malformed; the message says where."""


@dataclasses.dataclass(frozen=True)
class Requirement:
    id: str
    statement: str
    sources: tuple[str, ...]
    profile: str
    area: str  # the file it comes from: "sysv", "mmap", ...
    fixed_by: str | None = None  # a kernel regression's fixing commit
    first_fixed: str | None = None  # the first kernel release with that fix

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
    files = sorted(p for p in catalog_dir.glob("*.toml") if p.name != OPEN_POSIX_FILE)
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
            fixed_by, first_fixed = _regression_fields(where, entry)
            requirements[rid] = Requirement(rid, statement.strip(), tuple(sources), entry["profile"], path.stem,
                                            fixed_by, first_fixed)
    return requirements


def _regression_fields(where: str, entry: dict) -> tuple[str | None, str | None]:
    """fixed_by and first_fixed of a regression entry: both or neither, well formed."""
    fixed_by, first_fixed = entry.get("fixed_by"), entry.get("first_fixed")
    if fixed_by is None and first_fixed is None:
        return None, None
    if fixed_by is None or first_fixed is None:
        raise CatalogError(f"{where}: fixed_by and first_fixed go together")
    if not isinstance(fixed_by, str) or not FIXED_BY_RE.match(fixed_by):
        raise CatalogError(f"{where}: fixed_by must be '<commit sha> (<title>)', not {fixed_by!r}")
    if not isinstance(first_fixed, str) or not FIRST_FIXED_RE.match(first_fixed):
        raise CatalogError(f"{where}: first_fixed must be a release like '4.17', not {first_fixed!r}")
    return fixed_by, first_fixed


@dataclasses.dataclass(frozen=True)
class OpenPosixAssertion:
    interface: str  # "mmap", "shm_open", ...
    number: int  # the assertion's id in the suite's assertions.xml
    requirements: tuple[str, ...]  # the requirements that check it, or
    not_applicable: str | None  # why none does


def load_open_posix(catalog_dir: pathlib.Path = CATALOG_DIR) -> tuple[dict, list[OpenPosixAssertion]]:
    """The Open POSIX Test Suite mapping: its header table and every assertion."""
    path = catalog_dir / OPEN_POSIX_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CatalogError(f"{OPEN_POSIX_FILE}: {e}") from None
    suite = data.get("suite", {})
    assertions = []
    for n, entry in enumerate(data.get("assertion", []), 1):
        where = f"{OPEN_POSIX_FILE} assertion #{n}"
        if not isinstance(entry.get("interface"), str) or not isinstance(entry.get("id"), int):
            raise CatalogError(f"{where}: needs interface (string) and id (integer)")
        reqs = entry.get("requirements", [])
        why = entry.get("not_applicable")
        if bool(reqs) == bool(why):
            raise CatalogError(f"{where} ({entry['interface']} {entry['id']}): give either requirements or not_applicable")
        assertions.append(OpenPosixAssertion(entry["interface"], entry["id"], tuple(reqs), why))
    return suite, assertions


def check_open_posix(requirements: dict[str, Requirement], suite: dict,
                     assertions: list[OpenPosixAssertion]) -> list[str]:
    """Problems of the mapping: unknown ids, duplicates, assertions missing per interface."""
    problems = []
    seen: set[tuple[str, int]] = set()
    for a in assertions:
        key = (a.interface, a.number)
        if key in seen:
            problems.append(f"{a.interface} assertion {a.number} is mapped twice")
        seen.add(key)
        for rid in a.requirements:
            if rid not in requirements:
                problems.append(f"{a.interface} assertion {a.number} names unknown requirement {rid}")
    for interface, count in suite.get("assertions", {}).items():
        missing = sorted(set(range(1, count + 1)) - {n for i, n in seen if i == interface})
        if missing:
            problems.append(f"{interface} assertions not mapped: {missing}")
    return problems


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
