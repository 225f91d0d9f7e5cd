"""pytest plugin: every (target, conformance binary, gtest case) is a pytest item.

    /usr/bin/python3 -m pytest -p harness.pytest_plugin build/default/conformance \\
        --shmconform-target local --shmconform-target uml -k Shmget -m SYSV.SHMGET.EXCL_EXISTS

Items carry their requirement ids as markers (each id, plus `requirement(ids...)`,
the area and the profile) and as the junit property "requirements" (next to the
test's own RecordProperty() values, e.g. "variant", and its "status"), so -k, -m,
--junitxml, -x, --lf and xdist (`-n 2 --dist loadgroup`: one group per target)
work as usual. Each binary still runs once per target: the first item of a
target runs every selected test of that target through the engine (one
gtest process per binary, one boot for a VM), later items read the results.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
import threading

import pytest

from harness import catalog, engine, targets, testlist


_SESSION = pytest.StashKey["_Session"]()


def pytest_addoption(parser):
    g = parser.getgroup("shmconform")
    g.addoption("--shmconform-target", action="append", default=None, metavar="SPEC",
                help="target to run the conformance binaries on (repeatable; default local)")
    g.addoption("--shmconform-test-timeout", type=int, default=120, metavar="S")
    g.addoption("--shmconform-target-timeout", type=int, default=3600, metavar="S")
    g.addoption("--shmconform-preset-dir", action="append", default=[], metavar="PRESET=DIR")
    g.addoption("--shmconform-kernel-args", default="", metavar="ARGS")
    g.addoption("--shmconform-ssh-option", action="append", default=[], metavar="OPT")


def pytest_configure(config):
    config.addinivalue_line("markers", "requirement(*ids): catalogued requirements a conformance test checks")
    config.addinivalue_line("markers", "shmconform_target(spec): the target a conformance item runs on")
    try:
        cat = catalog.load()
    except catalog.CatalogError as e:
        raise pytest.UsageError(f"shmconform: {e}") from None
    for name in sorted({r.profile for r in cat.values()} | {r.area for r in cat.values()}):
        config.addinivalue_line("markers", f"{name}: conformance tests of this profile or area")
    for rid, req in cat.items():
        config.addinivalue_line("markers", f"{rid}: {req.statement}")
    config.stash[_SESSION] = _Session(config, cat)


def pytest_unconfigure(config):
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


def pytest_collect_file(file_path: pathlib.Path, parent):
    if (file_path.name.startswith("conformance-") and file_path.parent.name == "conformance"
            and file_path.is_file() and os.access(file_path, os.X_OK)):
        return ConformanceBinary.from_parent(parent, path=file_path)
    return None


class _Session:
    """Engine runs shared by the items of one pytest process (xdist worker)."""

    def __init__(self, config, cat: dict):
        self.config = config
        self.catalog = cat
        self.lock = threading.Lock()
        self.runs: dict[str, dict[tuple[str, str], object]] = {}   # target -> (binary, full) -> TestResult
        self.errors: dict[str, str] = {}
        self._work: pathlib.Path | None = None

    @property
    def work(self) -> pathlib.Path:
        """The engine's scratch directory, made on first use and removed at the end."""
        if self._work is None:
            self._work = pathlib.Path(tempfile.mkdtemp(prefix="shmconform-pytest-"))
        return self._work

    def close(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def targets(self) -> list[str]:
        return self.config.getoption("shmconform_target") or ["local"]

    def result(self, item: "GtestItem"):
        with self.lock:
            if item.target not in self.runs:
                self._run_target(item)
        if item.target in self.errors:
            return self.errors[item.target]
        return self.runs[item.target].get((item.binary.name, item.full_name))

    def _run_target(self, first: "GtestItem") -> None:
        wanted: dict[str, list[str]] = {}
        build_dir = first.binary.parent.parent
        for it in first.session.items:
            if isinstance(it, GtestItem) and it.target == first.target:
                wanted.setdefault(it.binary.name, []).append(it.full_name)
        opt = self.config.getoption
        preset_dirs = {}
        for item in opt("shmconform_preset_dir"):
            preset, _, d = item.partition("=")
            preset_dirs[preset] = pathlib.Path(d).resolve()
        ctx = targets.Context(build_dir=build_dir, cache_dir=_cache_dir(),
                              work_dir=self.work / f"t{len(self.runs)}", run_id=f"py{os.getpid()}",
                              preset_dirs=preset_dirs, kernel_args=opt("shmconform_kernel_args"),
                              ssh_options=opt("shmconform_ssh_option"))
        plan = engine.Plan(binaries=list(wanted), tests=wanted,
                           per_test_timeout=opt("shmconform_test_timeout"),
                           target_timeout=opt("shmconform_target_timeout"))
        try:
            target = targets.parse(first.target)
        except targets.TargetError as e:
            self.errors[first.target] = str(e)
            self.runs[first.target] = {}
            return
        run = engine.run_target(target, ctx, plan, testlist.Requirements(build_dir))
        if run.status == "broken":
            self.errors[first.target] = f"target {first.target} is broken: {run.error}"
        results = {(r.binary, f"{r.suite}.{r.name}"): r for r in run.results}
        # A binary that could not run at all fails each of its items with the reason.
        for r in run.results:
            if r.suite == "<binary>":
                for full in wanted.get(r.binary, []):
                    results.setdefault((r.binary, full), r)
        self.runs[first.target] = results


def _cache_dir() -> pathlib.Path:
    from harness import cli  # noqa: PLC0415 - avoid a cycle at import
    return cli.cache_dir()


class ConformanceBinary(pytest.File):
    def collect(self):
        try:
            listed = testlist.list_tests(self.path)
        except testlist.ListingError as e:
            raise pytest.UsageError(f"shmconform: {e}") from None
        session = self.config.stash[_SESSION]
        cat = session.catalog
        for target in session.targets():
            for test in listed:
                full, ids = test.name, list(test.requirements)
                item = GtestItem.from_parent(self, name=f"{full}[{target}]", target=target, full_name=full)
                item.add_marker(pytest.mark.requirement(*ids))
                item.add_marker(pytest.mark.shmconform_target(target))
                item.add_marker(pytest.mark.xdist_group(target))
                for rid in ids:
                    item.add_marker(getattr(pytest.mark, rid))
                    if rid in cat:
                        item.add_marker(getattr(pytest.mark, cat[rid].profile))
                        item.add_marker(getattr(pytest.mark, cat[rid].area))
                item.user_properties += [("requirements", ",".join(ids)), ("target", target)]
                yield item


class GtestFailure(Exception):
    pass


class GtestItem(pytest.Item):
    def __init__(self, *, target: str, full_name: str, **kw):
        super().__init__(**kw)
        self.target, self.full_name = target, full_name
        self.binary = self.parent.path

    def runtest(self):
        r = self.config.stash[_SESSION].result(self)
        if isinstance(r, str):
            raise GtestFailure(r)
        if r is None:
            raise GtestFailure(f"no result: {self.binary.name} did not report {self.full_name} on {self.target}")
        self.user_properties += sorted(r.properties.items()) + [("status", r.status)]
        if r.status == "pass":
            return
        if r.status == "skip":
            pytest.skip(r.message.strip() or "skipped")
        raise GtestFailure(f"{r.status.upper()} on {self.target}: {r.message.strip()}"
                           + (f"\n--- output ---\n{r.output}" if r.output and r.output not in r.message else ""))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GtestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.binary.name}:{self.full_name} [{self.target}]"
