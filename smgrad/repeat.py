"""A report's runs written back as the ``smgrad check`` command that repeats them (the
reproduce line under every table), and a grid option's values as the command line takes
them."""

from __future__ import annotations

import shlex

from smgrad import params
from smgrad.options import TABLE, with_defaults

# The numbers of a run: said in every command that repeats one, default or not.
ALWAYS = ("dim", "batch", "seed", "dtype")


def shown_values(runs: list, name: str) -> str:
    """The values of a grid option over ``runs``, as the command line takes them: a run
    of consecutive seeds as ``0..9``."""
    values = list(dict.fromkeys(getattr(c, name) for c in runs))
    if name == "seed" and len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ",".join(str(v) for v in values)


def _written(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def command_line(runs: list, implementation: str = "reference", covered: bool = False) -> str:
    """The ``smgrad check`` command that repeats ``runs`` (configs of one report): the
    numbers of the run, and every other option that is not at its default. An
    implementation given as an object that no SPEC names is said to be one. A run that
    ``covered`` more batch shapes than its own is repeated without ``--batch``, which
    would narrow it."""
    first, defaults = runs[0], with_defaults({})
    words = ["smgrad", "check"]
    for o in TABLE:
        if o.output:
            continue
        value = getattr(first, o.name)
        if o.grid:
            words += [o.cli_flag, shown_values(runs, o.name)]
        elif o.type is params.FLAG:
            words += [o.cli_flag] if value else []
        elif (o.name in ALWAYS and not (covered and o.name == "batch")) or value != defaults[o.name]:
            words += [o.cli_flag, _written(value)]
    line = shlex.join(words)
    if first.impl is None and implementation != "reference":
        line += f"  (with the implementation {implementation}, given as an object: no --impl names it)"
    return line
