"""Every option of ``smgrad check``, once: its kind of value, default, flag, ``[tool.smgrad]``
key and help. The command line, the project table and :func:`smgrad.check` all parse
through this table, so they take the same values and refuse them in the same words.

A message names the option by its plain name (``rtol``); only the command line adds
``--``, and only the project table adds its file and key.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from smgrad import params
from smgrad.errors import UsageError, opt

# The vocabulary of the options, kept here without numpy so that `smgrad --help` is quick.
DTYPES = ("float64", "float32", "bfloat16", "float16")
NUMPY_DTYPES = DTYPES[:2]  # what smgrad itself computes in (the explain commands)
METHODS = ("auto", "forward", "backward", "central", "richardson", "complex")
SCENARIOS = ("typical", "peaked", "overflow", "ties")
TARGETS = ("onehot", "soft", "index")
MODES = ("auto", "full", "fast")
FORMATS = ("table", "json", "markdown")
ARRAYS = ("auto", "numpy", "torch", "jax")


@dataclass(frozen=True)
class Option:
    """One option. ``grid``: it takes several values, and each is a run of its own.
    ``output``: it decides how a report is written, not what is checked."""

    name: str
    type: click.ParamType
    default: object
    help: str
    grid: bool = False
    output: bool = False
    flag: str = ""
    short: str | None = None
    metavar: str | None = None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def parse(self, value):
        """``value`` as the run takes it; :class:`click.BadParameter` if it is not one."""
        return value if value is None else self.type.convert(value, None, None)


TABLE = (
    Option("dim", params.WholeList(1), "10", "Number of classes n; 2,10,100 runs each.", grid=True),
    Option("batch", params.Batch(), "4", "Rows B, or 'none' for one 1-D vector."),
    Option("seed", params.WholeList(0), "0", "Seed of the random logits; 0..9 runs each.", grid=True),
    Option(
        "dtype",
        params.ChoiceList(DTYPES, "dtype"),
        "float64",
        "float64, float32, bfloat16, float16, a list such as float64,float32, or all; each is a run.",
        grid=True,
    ),
    Option(
        "method",
        params.Choice(METHODS),
        "auto",
        "Numerical method; auto = complex step where the function allows it, else richardson.",
    ),
    Option("step", params.Number(0, open_=True), None, "Step size (default: from the error model)."),
    Option("scale", params.Number(0, open_=True), 2.0, "Spread of typical logits."),
    Option(
        "scenarios", params.ChoiceList(SCENARIOS, "scenario"), "all", f"Comma-separated, from {', '.join(SCENARIOS)}."
    ),
    Option("rtol", params.Number(0), None, "Override the relative tolerance."),
    Option("atol", params.Number(0), None, "Override the absolute tolerance."),
    Option("targets", params.Choice(TARGETS), "onehot", "Dense one-hot or soft targets, or class ids (index)."),
    Option("label_smoothing", params.Number(0, maximum=1), 0.0, "Mix targets with uniform: (1-e)t + e/n."),
    Option("target_sum", params.Number(0, open_=True), 1.0, "Scale targets to this sum."),
    Option(
        "reduction",
        params.Choice(("mean", "sum", "none")),
        "mean",
        "Over the rows of a batch; none: one loss per row, its backward given a random upstream gradient per row.",
    ),
    Option(
        "loss_reference",
        params.Choice(("seed", "none")),
        "seed",
        "none: your loss is not the seed's cross-entropy (a z-loss, soft-capping): its gradient is checked "
        "against its own forward only, and the checks that need the seed's formula say they had none.",
    ),
    Option(
        "ignore_index",
        params.Whole(-(2**62)),
        None,
        "A class id that marks rows to ignore (class-id targets): their gradient is 0, the mean is over the others.",
        metavar="K",
    ),
    Option(
        "impl",
        params.TEXT,
        None,
        "Your implementation: path/to/file.py or package.module, optionally :object.",
        metavar="SPEC",
    ),
    Option(
        "array",
        params.Choice(ARRAYS),
        "auto",
        "The arrays your functions are called with; auto = torch or jax if the implementation imports it, else numpy.",
    ),
    Option("device", params.Device(), "cpu", "Where torch or jax arrays live: cpu, cuda or cuda:N."),
    Option(
        "allow_inplace",
        params.FLAG,
        False,
        "A function that overwrites its input (a kernel's memory trick) gets a note, not a failure.",
    ),
    Option(
        "mode",
        params.Choice(MODES),
        "auto",
        "full: every entry; fast: sampled columns and random projections; auto: fast above B·n² = 4e6.",
    ),
    Option("max_memory", params.Size(), "1GiB", "Memory for perturbations and Jacobians."),
    Option("timeout", params.Seconds(), 60.0, "Seconds one call of your function may take; 0 = no limit."),
    Option("format", params.Choice(FORMATS), "table", "How the report is written.", output=True),
    Option(
        "output", params.TEXT, None, "Write the report to FILE (atomically).", output=True, short="-o", metavar="FILE"
    ),
    Option("junit", params.TEXT, None, "Also write a JUnit XML report to FILE.", output=True, metavar="FILE"),
    Option("quiet", params.FLAG, False, "Print only the verdict line (table format).", output=True, short="-q"),
)
BY_NAME = {o.name: o for o in TABLE}
RUN = tuple(o.name for o in TABLE if not o.output)
PATHS = ("impl", "output", "junit")  # resolved relative to the file that names them

# More runs than this in one report is a typo, not a plan.
MAX_RUNS = 10_000


def click_options(f):
    """Decorate a click command with every option of the table, in table order."""
    for o in reversed(TABLE):
        names = [o.cli_flag, *([o.short] if o.short else []), o.name]
        if o.type is params.FLAG:
            f = click.option(*names, is_flag=True, default=o.default, help=o.help)(f)
            continue
        f = click.option(
            *names,
            type=o.type,
            default=o.default,  # a default gives way to [tool.smgrad]: see cli.check
            show_default=o.default is not None,
            metavar=o.metavar,
            help=o.help,
        )(f)
    return f


_SAME = object()


def option(name: str, *, type: click.ParamType | None = None, default=_SAME, help: str | None = None):
    """The click option of the table's ``name`` for a command that takes one value of it,
    within its own limits (``smgrad jacobian --dim`` is at most 12): the flag and the help
    come from the table, ``type``, ``default`` and ``help`` may narrow them."""
    o = BY_NAME[name]
    value = o.default if default is _SAME else default
    return click.option(
        o.cli_flag,
        name,
        type=type or o.type,
        default=value,
        show_default=value is not None,
        metavar=o.metavar,
        help=help or o.help,
    )


def parse(values: dict) -> dict:
    """``{name: parsed value}`` for the options given as keywords; unknown names refused."""
    out = {}
    for name, value in values.items():
        option = BY_NAME.get(name)
        if option is None:
            raise UsageError(f"unknown option {name!r}; known: {', '.join(BY_NAME)}")
        try:
            out[name] = option.parse(value)
        except click.BadParameter as e:
            raise UsageError(f"{opt(name)}: {e.message}") from None
    return out


def with_defaults(values: dict) -> dict:
    """Every option: the given ones (parsed), the rest at their defaults."""
    merged = {o.name: o.default for o in TABLE}
    merged.update(values)
    return {name: BY_NAME[name].parse(v) for name, v in merged.items()}


def runs(values: dict) -> list[dict]:
    """The runs the options ask for: one per value of each grid option (dim x seed x
    dtype), each with single values, and the other run options as given."""
    grid = [o.name for o in TABLE if o.grid]
    count = 1
    for name in grid:
        count *= len(values[name])
    if count > MAX_RUNS:
        raise UsageError(
            f"{count} runs of {opt('dim')} x {opt('seed')} x {opt('dtype')}, more than {MAX_RUNS}; give fewer values"
        )
    base = {k: v for k, v in values.items() if k in RUN and k not in grid}
    out = [dict(base)]
    for name in grid:
        out = [{**run, name: v} for run in out for v in values[name]]
    return out
