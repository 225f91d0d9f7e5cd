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


REGRESSION = GOOD + """
    [[requirement]]
    id = "AREA.REGRESSION.FIXED"
    statement = "A fixed bug stays fixed."
    sources = ["shmat(2) ERRORS"]
    profile = "linux"
    fixed_by = "8f89c007b6de (ipc/shm: fix shmat() nil address after round-down when remapping)"
    first_fixed = "4.17"
"""


def test_regression_entries_carry_their_fixing_commit(tmp_path, seed):
    reqs = catalog.load(write_catalog(tmp_path / "cat", REGRESSION), seed)
    fixed = reqs["AREA.REGRESSION.FIXED"]
    assert fixed.fixed_by.startswith("8f89c007b6de (")
    assert fixed.first_fixed == "4.17"
    assert reqs["AREA.CALL.ONE"].fixed_by is None and reqs["AREA.CALL.ONE"].first_fixed is None


@pytest.mark.parametrize("fields, message", [
    ('fixed_by = "8f89c007b6de (title)"', "fixed_by and first_fixed go together"),
    ('first_fixed = "4.17"', "fixed_by and first_fixed go together"),
    ('fixed_by = "not a sha"\nfirst_fixed = "4.17"', "fixed_by must be '<commit sha> \\(<title>\\)'"),
    ('fixed_by = "8f89c007b6de"\nfirst_fixed = "4.17"', "fixed_by must be"),
    ('fixed_by = "8f89c007b6de (title)"\nfirst_fixed = "v4.17-rc1"', "first_fixed must be a release"),
    ('fixed_by = "8f89c007b6de (title)"\nfirst_fixed = 4.17', "first_fixed must be a release"),
])
def test_malformed_regression_fields_are_rejected(tmp_path, seed, fields, message):
    body = ('[[requirement]]\nid = "AREA.X.Y"\nstatement = "S."\nsources = ["POSIX mmap"]\nprofile = "linux"\n'
            + fields + "\n")
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.load(write_catalog(tmp_path / "cat", body), seed)


def test_project_regressions_name_their_fix():
    """Every REGRESSION requirement says which commit fixed it and since when."""
    for rid, req in catalog.load().items():
        if ".REGRESSION." in rid:
            assert req.fixed_by and req.first_fixed, f"{rid} lacks fixed_by/first_fixed"


def write_open_posix(directory: pathlib.Path, body: str) -> pathlib.Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / catalog.OPEN_POSIX_FILE).write_text(textwrap.dedent(body))
    return directory


OPEN_POSIX = """
    [suite]
    assertions = { mmap = 2 }

    [[assertion]]
    interface = "mmap"
    id = 1
    requirements = ["AREA.CALL.ONE"]

    [[assertion]]
    interface = "mmap"
    id = 2
    not_applicable = "Typed memory does not exist here."
"""


def test_open_posix_mapping_is_not_a_requirement_file(tmp_path, seed):
    d = write_open_posix(write_catalog(tmp_path / "cat", GOOD), OPEN_POSIX)
    assert sorted(catalog.load(d, seed)) == ["AREA.CALL.ONE", "AREA.CALL.TWO"]


def test_open_posix_mapping_checks(tmp_path, seed):
    d = write_open_posix(write_catalog(tmp_path / "cat", GOOD), OPEN_POSIX)
    reqs = catalog.load(d, seed)
    suite, assertions = catalog.load_open_posix(d)
    assert catalog.check_open_posix(reqs, suite, assertions) == []
    broken = OPEN_POSIX.replace('"AREA.CALL.ONE"', '"AREA.CALL.NONE"').replace("mmap = 2", "mmap = 3")
    suite, assertions = catalog.load_open_posix(write_open_posix(tmp_path / "cat", broken))
    problems = catalog.check_open_posix(reqs, suite, assertions)
    assert "mmap assertion 1 names unknown requirement AREA.CALL.NONE" in problems
    assert "mmap assertions not mapped: [3]" in problems


def test_open_posix_assertion_needs_exactly_one_of_requirements_or_reason(tmp_path):
    both = OPEN_POSIX.replace('not_applicable = "Typed', 'requirements = ["AREA.CALL.ONE"]\n    not_applicable = "Typed')
    with pytest.raises(catalog.CatalogError, match="either requirements or not_applicable"):
        catalog.load_open_posix(write_open_posix(tmp_path / "cat", both))


def test_project_open_posix_mapping_is_complete():
    """Every Open POSIX assertion of our interfaces is mapped to existing requirements or says why not."""
    suite, assertions = catalog.load_open_posix()
    assert catalog.check_open_posix(catalog.load(), suite, assertions) == []
    assert suite["assertions"] == {"mmap": 32, "munmap": 10, "shm_open": 42, "shm_unlink": 11}
    for a in assertions:
        assert a.requirements or len(a.not_applicable) > 20, f"{a.interface} {a.number}: give a real reason"
