"""Kinds of option value, each parsing what a user writes on the command line, in
``[tool.smgrad]`` or in a call of :func:`smgrad.check`, and failing in words that name the
problem. A value already of the parsed kind passes through; a value of the wrong Python
type (``true`` for a number) is refused, never coerced."""

from __future__ import annotations

import math
from typing import ClassVar

import click


def _kind(value) -> str:
    """How a value of the wrong type is named in a message: as TOML would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return f"a list {list(value)!r}"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


class Number(click.ParamType):
    """A finite float, optionally bounded below (``--step 0`` and ``--rtol nan`` are errors)."""

    name = "number"
    value_type = float

    def __init__(self, minimum: float = 0.0, open_: bool = False, maximum: float | None = None):
        self.minimum, self.open_, self.maximum = minimum, open_, maximum

    def convert(self, value, param, ctx):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"expected a number, got {_kind(value)}", param, ctx)
        try:
            v = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if v < self.minimum or (self.open_ and v == self.minimum):
            relation = ">" if self.open_ else ">="
            self.fail(f"{value} is not {relation} {self.minimum:g}", param, ctx)
        if self.maximum is not None and v >= self.maximum:
            self.fail(f"{value} is not < {self.maximum:g}", param, ctx)
        return v


class Batch(click.ParamType):
    """Rows in the batch, a whole number >= 1, or ``none`` for a single 1-D vector."""

    name = "B|none"
    value_type = int | None

    def convert(self, value, param, ctx):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(f"expected a whole number or 'none', got {_kind(value)}", param, ctx)
        if str(value).strip().lower() == "none":
            return None
        try:
            b = int(value)
        except ValueError:
            self.fail(f"{value!r} is not a whole number or 'none'", param, ctx)
        if b < 1:
            self.fail(f"{b} is not >= 1 (use 'none' for one 1-D vector)", param, ctx)
        return b


class Whole(click.ParamType):
    """A whole number with a lower (and optional upper) bound."""

    name = "integer"
    value_type = int

    def __init__(self, minimum: int, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value, param, ctx):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(f"expected a whole number, got {_kind(value)}", param, ctx)
        try:
            v = int(value)
        except ValueError:
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if v < self.minimum:
            self.fail(f"{v} is not >= {self.minimum}", param, ctx)
        if self.maximum is not None and v > self.maximum:
            self.fail(f"{v} is not <= {self.maximum}", param, ctx)
        return v


class Seconds(Number):
    """A time limit in seconds; 0 means none."""

    name = "seconds"

    def __init__(self):
        super().__init__(0.0)


class Size(click.ParamType):
    """A number of bytes: 268435456, 256MB, 256MiB, 2G."""

    name = "size"
    value_type = int
    UNITS: ClassVar[dict[str, int]] = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

    def convert(self, value, param, ctx):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(f'expected a size such as "1GiB", got {_kind(value)}', param, ctx)
        text = str(value).strip().lower().removesuffix("b").removesuffix("i")
        number, unit = text.rstrip("kmgt"), text[len(text.rstrip("kmgt")) :]
        try:
            size = float(number) * self.UNITS[unit]
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size such as 512MB or 2GiB", param, ctx)
        if not math.isfinite(size) or size < 2**20:
            bare = " (a bare number is bytes)" if isinstance(value, int) or unit == "" else ""
            self.fail(f'{value!r} is less than 1 MiB{bare}; give a size such as "1GiB"', param, ctx)
        return int(size)


def _items(value, what: str, param, ctx, fail, kinds: tuple[type, ...] = (str,)) -> list:
    """The items of a list option: a comma string, or a list/tuple of items each of
    one of ``kinds`` (whole numbers are items of a number list, not of a name list)."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, kinds) and not isinstance(value, bool):
        items = str(value).split(",")
    else:
        fail(f"expected {what}, got {_kind(value)}", param, ctx)
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, kinds):
            fail(f"expected {what}, got {_kind(item)} in {_kind(value)}", param, ctx)
        text = str(item).strip()
        if not text:
            fail(f"empty item in {','.join(str(i) for i in items)!r}", param, ctx)
        out.append(text)
    return out


class WholeList(click.ParamType):
    """Whole numbers: ``10``, ``2,10,100``, ``0..9`` (inclusive), a list, or a mix."""

    name = "list"
    value_type, item_type = tuple[int, ...], int

    def __init__(self, minimum: int):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        out: list[int] = []
        for part in _items(value, "whole numbers or a range such as 0..9", param, ctx, self.fail, (str, int)):
            try:
                if ".." in part:
                    first, last = (int(v) for v in part.split("..", 1))
                    if last < first:
                        self.fail(f"{part!r} is an empty range", param, ctx)
                    out += range(first, last + 1)
                else:
                    out.append(int(part))
            except ValueError:
                self.fail(f"{part!r} is not a whole number or a range such as 0..9", param, ctx)
        bad = [v for v in out if v < self.minimum]
        if bad:
            self.fail(f"{bad[0]} is not >= {self.minimum}", param, ctx)
        return tuple(dict.fromkeys(out))


class ChoiceList(click.ParamType):
    """One or more of a set: comma-separated, a list, or ``all``."""

    name = "list"
    value_type, item_type = tuple[str, ...], str

    def __init__(self, allowed: tuple[str, ...], what: str):
        self.allowed, self.what = allowed, what

    def convert(self, value, param, ctx):
        if value == "all":
            return self.allowed
        names = _items(value, f"{self.what}s from {', '.join(self.allowed)}", param, ctx, self.fail)
        unknown = [s for s in names if s not in self.allowed]
        if unknown:
            self.fail(
                f"unknown {self.what} {', '.join(map(repr, unknown))}; choose from {', '.join(self.allowed)} or all",
                param,
                ctx,
            )
        return tuple(dict.fromkeys(names))


class Device(click.ParamType):
    """A device for torch or JAX arrays: ``cpu``, ``cuda`` or ``cuda:N``."""

    name = "cpu|cuda|cuda:N"
    value_type = str

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            self.fail(f"expected cpu, cuda or cuda:N, got {_kind(value)}", param, ctx)
        device = value.strip().lower()
        kind, _, index = device.partition(":")
        if device in ("cpu", "cuda") or (kind == "cuda" and index.isdigit()):
            return device
        self.fail(f"expected cpu, cuda or cuda:N, got {value!r}", param, ctx)


class Choice(click.Choice):
    """One of a set; a value of another type is refused in the same words as the others."""

    value_type = str

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            self.fail(f"expected one of {', '.join(map(str, self.choices))}, got {_kind(value)}", param, ctx)
        return super().convert(value, param, ctx)


class Exactly(click.ParamType):
    """A value of one Python type, taken as it is: a string (a SPEC, a file path) or a
    flag's true or false."""

    def __init__(self, kind: type, words: str, name: str):
        self.kind, self.words, self.name = kind, words, name
        self.value_type = kind

    def convert(self, value, param, ctx):
        if not isinstance(value, self.kind):
            self.fail(f"expected {self.words}, got {_kind(value)}", param, ctx)
        return value


TEXT = Exactly(str, "a string", "text")
FLAG = Exactly(bool, "true or false", "boolean")
