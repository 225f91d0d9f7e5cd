"""Listing a conformance binary's tests and their requirement ids: the only
source of test metadata (BINARY --shmconform_list, see the shared gtest main in
support/src/main.cc). It prints one JSON object and runs no test:

    {"schema": 1, "binary": "conformance-sysv",
     "tests": [{"name": "Prefix/Suite.Test/0", "requirements": ["ID", ...],
                "file": "conformance/sysv/shmget_test.cc", "line": 42}, ...]}

The harness runs it on the host build (the same test names as every other
build of the suite) and keeps each answer while the binary's mtime and size
stay the same.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import subprocess
import threading

FLAG = "--shmconform_list"
SCHEMA = 1
TIMEOUT = 60.0                       # seconds; listing runs no test, so this is generous


class ListingError(Exception):
    """A binary's listing cannot be had; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class ListedTest:
    name: str                        # "Suite.Test" or "Prefix/Suite.Test/0"
    requirements: tuple[str, ...]
    file: str = ""
    line: int = 0


_cache: dict[tuple, list[ListedTest]] = {}
_cache_lock = threading.Lock()


def list_tests(binary: pathlib.Path, gtest_filter: str | None = None) -> list[ListedTest]:
    """The tests of binary (those gtest_filter selects), in the binary's order."""
    try:
        st = binary.stat()
    except OSError as e:
        raise ListingError(f"{binary}: {e.strerror}") from None
    key = (str(binary), st.st_mtime_ns, st.st_size, gtest_filter)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    tests = _run_listing(binary, gtest_filter)
    with _cache_lock:
        _cache[key] = tests
    return tests


def _implements_listing(binary: pathlib.Path) -> bool:
    """A binary built before the listing existed would run its tests instead."""
    try:
        return FLAG[2:].encode() in binary.read_bytes()
    except OSError:
        return False


def _run_listing(binary: pathlib.Path, gtest_filter: str | None) -> list[ListedTest]:
    if not _implements_listing(binary):
        raise ListingError(f"{binary.name} does not implement {FLAG} (built before it existed: rebuild)")
    argv = [str(binary), FLAG] + ([f"--gtest_filter={gtest_filter}"] if gtest_filter else [])
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ListingError(f"{binary.name} {FLAG} did not finish in {TIMEOUT:g} s") from None
    except OSError as e:
        raise ListingError(f"{binary.name}: cannot run it: {e.strerror}") from None
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        raise ListingError(f"{binary.name} {FLAG} failed: {last[:200]}")
    return parse(r.stdout, binary.name)


def parse(text: str, where: str = "listing") -> list[ListedTest]:
    """The tests of one --shmconform_list document; ListingError when it is not one."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ListingError(f"{where}: {FLAG} printed no JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("tests"), list):
        raise ListingError(f"{where}: {FLAG} printed no schema-{SCHEMA} listing")
    tests = []
    for n, t in enumerate(doc["tests"], 1):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or \
                not isinstance(t.get("requirements"), list) or \
                not all(isinstance(r, str) for r in t["requirements"]):
            raise ListingError(f"{where}: test #{n} of the listing is malformed")
        tests.append(ListedTest(t["name"], tuple(t["requirements"]), str(t.get("file", "")), int(t.get("line", 0))))
    return tests


class Requirements:
    """Requirement ids of every test of a build's conformance binaries, listed on
    first use. A binary whose listing fails has no ids; errors() says why."""

    def __init__(self, build_dir: pathlib.Path):
        self.build_dir = build_dir
        self._ids: dict[str, dict[str, list[str]]] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, binary: str, full_name: str) -> list[str]:
        return list(self._binary(binary).get(full_name, []))

    def errors(self) -> dict[str, str]:
        with self._lock:
            return dict(self._errors)

    def _binary(self, binary: str) -> dict[str, list[str]]:
        with self._lock:
            if binary not in self._ids:
                try:
                    tests = list_tests(self.build_dir / "conformance" / binary)
                    self._ids[binary] = {t.name: list(t.requirements) for t in tests}
                except ListingError as e:
                    self._ids[binary], self._errors[binary] = {}, str(e)
            return self._ids[binary]
