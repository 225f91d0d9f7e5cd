"""The requirement catalog: well-formed, and matched one-to-one with the tests."""
from __future__ import annotations

import pathlib
import textwrap

import pytest

from harness import catalog, testlist


def write_catalog(directory: pathlib.Path, body: str) -> pathlib.Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "area.toml").write_text(textwrap.dedent(body))
    return directory


GOOD = """
    [[requirement]]
    id = "AREA.CALL.ONE"
    statement = "One thing holds."
    sources = ["shmget(2) ERRORS", "POSIX shmget", "seed: Flags"]
    profile = "posix"

    [[requirement]]
    id = "AREA.CALL.TWO"
    statement = "Another thing holds."
    sources = ["mmap(2) DESCRIPTION"]
    profile = "linux"
"""


@pytest.fixture
def seed(tmp_path):
    d = tmp_path / "seed"
    d.mkdir()
    (d / "doc.md").write_text("# Flags\n\ntext\n## **Cycle of Usage**\n")
    return d


def test_good_catalog_loads(tmp_path, seed):
    reqs = catalog.load(write_catalog(tmp_path / "cat", GOOD), seed)
    assert sorted(reqs) == ["AREA.CALL.ONE", "AREA.CALL.TWO"]
    assert reqs["AREA.CALL.ONE"].profile == "posix"
    assert reqs["AREA.CALL.TWO"].area == "area"


def test_check_passes_when_tests_and_requirements_match(tmp_path, seed):
    reqs = catalog.load(write_catalog(tmp_path / "cat", GOOD), seed)
    result = catalog.check(reqs, {"T.a": ["AREA.CALL.ONE"], "T.b": ["AREA.CALL.TWO", "AREA.CALL.ONE"]})
    assert result.ok, result.describe()


def test_check_fails_on_unknown_id(tmp_path, seed):
    reqs = catalog.load(write_catalog(tmp_path / "cat", GOOD), seed)
    result = catalog.check(reqs, {"T.a": ["AREA.CALL.ONE", "AREA.CALL.TWO", "AREA.CALL.THREE"]})
    assert not result.ok
    assert result.unknown == {"AREA.CALL.THREE": ["T.a"]}
    assert "unknown requirement AREA.CALL.THREE named by T.a" in result.describe()


def test_check_fails_on_untested_requirement(tmp_path, seed):
    reqs = catalog.load(write_catalog(tmp_path / "cat", GOOD), seed)
    result = catalog.check(reqs, {"T.a": ["AREA.CALL.ONE"]})
    assert not result.ok
    assert result.untested == ["AREA.CALL.TWO"]
    assert "requirement AREA.CALL.TWO has no test" in result.describe()


def test_check_fails_on_test_naming_nothing(tmp_path, seed):
    reqs = catalog.load(write_catalog(tmp_path / "cat", GOOD), seed)
    result = catalog.check(reqs, {"T.a": ["AREA.CALL.ONE", "AREA.CALL.TWO"], "T.b": []})
    assert result.untagged == ["T.b"]


@pytest.mark.parametrize("bad, message", [
    ('id = "lower.case"', "malformed id"),
    ('profile = "bsd"', "profile must be one of"),
    ('sources = []', "sources must be a non-empty list"),
    ('sources = ["a blog post"]', "is not 'seed: <section>'"),
    ('sources = ["seed: No Such Section"]', "seed section 'No Such Section' is not a heading"),
    ('statement = ""', "empty statement"),
])
def test_malformed_entries_are_rejected(tmp_path, seed, bad, message):
    key = bad.split(" = ")[0]
    entry = {"id": '"AREA.X.Y"', "statement": '"S."', "sources": '["POSIX mmap"]', "profile": '"posix"'}
    entry[key] = bad.split(" = ", 1)[1]
    body = "[[requirement]]\n" + "\n".join(f"{k} = {v}" for k, v in entry.items()) + "\n"
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.load(write_catalog(tmp_path / "cat", body), seed)


def test_duplicate_ids_are_rejected(tmp_path, seed):
    d = write_catalog(tmp_path / "cat", GOOD)
    (d / "other.toml").write_text(textwrap.dedent(GOOD))
    with pytest.raises(catalog.CatalogError, match="duplicate id"):
        catalog.load(d, seed)


def test_seed_headings_are_read_without_markup(seed):
    assert {"Flags", "Cycle of Usage"} <= catalog.seed_sections(seed)


def test_check_reports_unknown_untested_and_untagged_tests():
    reqs = {"A.B.C": catalog.Requirement("A.B.C", "s", ("POSIX shmget",), "posix", "area"),
            "A.B.D": catalog.Requirement("A.B.D", "s", ("POSIX shmget",), "posix", "area")}
    result = catalog.check(reqs, {"x:S.a": ["A.B.C", "A.B.X"], "x:S.b": []})
    assert not result.ok
    assert result.unknown == {"A.B.X": ["x:S.a"]} and result.untested == ["A.B.D"] and result.untagged == ["x:S.b"]


def test_project_catalog_is_well_formed():
    requirements = catalog.load()
    assert requirements, "the catalog is empty"


def test_every_conformance_test_and_requirement_match(conformance_binaries):
    """The real check: the suite's tests, as each built binary lists them, against the catalog."""
    tests: dict[str, list[str]] = {}
    for binary in conformance_binaries:
        for t in testlist.list_tests(binary):
            tests[f"{binary.name}:{t.name}"] = list(t.requirements)
    result = catalog.check(catalog.load(), tests)
    assert result.ok, "\n" + result.describe()
