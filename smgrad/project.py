"""Defaults for ``smgrad check`` from the ``[tool.smgrad]`` table of a project's
``pyproject.toml``, so that CI can run plain ``smgrad check``. Options given on the
command line override them. Every key is checked against the option table
(:mod:`smgrad.options`): an unknown key, a value of the wrong type or two keys that say
the same thing are an error naming the file and the key."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from smgrad import options
from smgrad.errors import UsageError

# Plural spellings of the grid options, accepted as keys of their own.
PLURALS = {"dims": "dim", "seeds": "seed", "dtypes": "dtype"}


@dataclass(frozen=True)
class ProjectDefaults:
    """The options a project table sets (parsed), and the file they come from."""

    path: Path | None = None
    values: dict = field(default_factory=dict)


def find(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` (the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the working directory when below it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)


def load(path: Path | None = None) -> ProjectDefaults:
    """The ``[tool.smgrad]`` table of ``path`` (default: the nearest pyproject.toml);
    empty where there is none. A file without the table is not applied."""
    path = path or find()
    if path is None:
        return ProjectDefaults()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            document = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{shown(path)}: not valid TOML: {e}; fix it or run with --no-config") from None
    except OSError as e:
        raise UsageError(f"{shown(path)}: cannot read it: {e.strerror}; run with --no-config") from None
    tool = document.get("tool", {})
    table = tool.get("smgrad") if isinstance(tool, dict) else None
    if table is None:
        return ProjectDefaults()
    where = f"{shown(path)}: [tool.smgrad] "
    if not isinstance(table, dict):
        raise UsageError(f"{where}must be a table")
    values: dict = {}
    keys: dict = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        name = PLURALS.get(name, name)
        if name not in options.BY_NAME:
            raise UsageError(f"{where}unknown key {key!r}; known keys: {', '.join(options.BY_NAME)}")
        if name in values:
            raise UsageError(f"{where}{keys[name]!r} and {key!r} both set {name}; keep one")
        try:
            values[name], keys[name] = options.BY_NAME[name].parse(value), key
        except click.BadParameter as e:
            raise UsageError(f"{where}{key}: {e.message}") from None
    for name in options.PATHS:
        if name in values:
            values[name] = _beside(path, values[name], name)
    return ProjectDefaults(path, values)


def _beside(path: Path, value: str, name: str) -> str:
    """A relative path in the table is relative to the file; a module name stays as it is."""
    target, colon, attribute = value.partition(":")
    if name == "impl" and not (target.endswith(".py") or "/" in target or (path.parent / target).exists()):
        return value
    if Path(target).is_absolute():
        return value
    resolved = os.path.relpath(path.parent / target) if target else target
    return resolved + colon + attribute
