"""Named matrices: lists of targets in harness/matrices.toml, so a CI job or a
user names one word (`run --matrix kernels`) instead of ten -t flags."""
from __future__ import annotations

import pathlib
import tomllib

FILE = pathlib.Path(__file__).resolve().parent / "matrices.toml"


class MatrixError(Exception):
    """The matrix file or a matrix name is wrong; the message is one line."""


def load(path: pathlib.Path = FILE) -> dict[str, dict]:
    """{name: {"description": str, "targets": [spec, ...]}} with includes expanded."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise MatrixError(f"cannot read the matrix file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise MatrixError(f"{path}: {e}") from None
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise MatrixError(f"{path}: '{name}' is not a table ([{name}] with targets = [...])")
        unknown = set(body) - {"description", "targets", "include"}
        if unknown:
            raise MatrixError(f"{path}: matrix '{name}' has unknown key(s): {', '.join(sorted(unknown))}")
        for key in ("targets", "include"):
            value = body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise MatrixError(f"{path}: matrix '{name}': {key} must be a list of strings")
        if not body.get("targets") and not body.get("include"):
            raise MatrixError(f"{path}: matrix '{name}' lists no targets")
    return {name: {"description": str(body.get("description", "")), "targets": _expand(raw, name, path, [])}
            for name, body in raw.items()}


def _expand(raw: dict, name: str, path: pathlib.Path, seen: list[str]) -> list[str]:
    if name in seen:
        raise MatrixError(f"{path}: matrix '{name}' includes itself ({' -> '.join([*seen, name])})")
    if name not in raw:
        raise MatrixError(f"{path}: matrix '{seen[-1]}' includes unknown matrix '{name}'")
    out: list[str] = []
    for inc in raw[name].get("include", []):
        out += _expand(raw, inc, path, [*seen, name])
    out += raw[name].get("targets", [])
    return list(dict.fromkeys(out))   # once each, first place kept


def targets(names: list[str], path: pathlib.Path = FILE) -> list[str]:
    """The targets of the named matrices, in order, each once."""
    table = load(path)
    out: list[str] = []
    for name in names:
        if name not in table:
            raise MatrixError(f"unknown matrix '{name}' (known: {', '.join(table) or 'none'}; see {path})")
        out += table[name]["targets"]
    return list(dict.fromkeys(out))
