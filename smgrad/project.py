"""Defaults for ``smgrad check`` from the ``[tool.smgrad]`` table of a project's
``pyproject.toml``, so that CI can run plain ``smgrad check``. Options given on the
command line override them; an unknown key is an error that names it."""

from __future__ import annotations

import sys
from pathlib import Path

from smgrad.errors import UsageError

# table key -> option of `smgrad check` (its Python name); plural spellings accepted.
KEYS = {
    "impl": "spec",
    "dim": "dim",
    "dims": "dim",
    "batch": "batch",
    "seed": "seed",
    "seeds": "seed",
    "dtype": "dtype",
    "dtypes": "dtype",
    "scale": "scale",
    "scenarios": "scenarios",
    "method": "method",
    "step": "step",
    "rtol": "rtol",
    "atol": "atol",
    "targets": "targets",
    "label_smoothing": "label_smoothing",
    "target_sum": "target_sum",
    "reduction": "reduction",
    "mode": "mode",
    "max_memory": "max_memory",
    "format": "fmt",
    "output": "output",
    "junit": "junit",
    "quiet": "quiet",
}


def find(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` (the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def check_defaults(path: Path | None = None) -> dict:
    """``{option: value}`` for ``smgrad check`` from ``[tool.smgrad]``; empty without one."""
    path = path or find()
    if path is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("smgrad", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    if not isinstance(table, dict):
        raise UsageError(f"[tool.smgrad] in {path} must be a table")
    defaults = {}
    for key, value in table.items():
        name = KEYS.get(key.replace("-", "_"))
        if name is None:
            known = ", ".join(k for k in KEYS if k not in ("dims", "seeds", "dtypes"))
            raise UsageError(f"unknown key {key!r} in [tool.smgrad] of {path}; known keys: {known}")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if name == "spec" and isinstance(value, str) and not Path(value).is_absolute() and value.endswith(".py"):
            value = (
                str((path.parent / value).relative_to(Path.cwd().resolve(), walk_up=True))
                if sys.version_info >= (3, 12)
                else str(path.parent / value)
            )
        defaults[name] = value
    return defaults
