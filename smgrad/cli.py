"""The ``smgrad`` command. Parses options, runs the checks, renders; does no maths.

Every error a user can fix ends as one line on stderr and exit code 2; a failed check is
exit code 1; success is 0. No traceback reaches the user for any of these.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from typing import ClassVar

import click

from smgrad.config import DTYPES, METHODS, MODES, SCENARIOS, TARGETS, Config
from smgrad.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Number(click.ParamType):
    """A finite float, optionally bounded below (``--step 0`` and ``--rtol nan`` are errors)."""

    name = "number"

    def __init__(self, minimum: float = 0.0, open_: bool = False):
        self.minimum, self.open_ = minimum, open_

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if v < self.minimum or (self.open_ and v == self.minimum):
            relation = ">" if self.open_ else ">="
            self.fail(f"{value} is not {relation} {self.minimum:g}", param, ctx)
        return v


class Batch(click.ParamType):
    """Rows in the batch, a whole number >= 1, or ``none`` for a single 1-D vector."""

    name = "B|none"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, int):
            return value
        if str(value).lower() == "none":
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

    def __init__(self, minimum: int, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value, param, ctx):
        try:
            v = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if v < self.minimum:
            self.fail(f"{v} is not >= {self.minimum}", param, ctx)
        if self.maximum is not None and v > self.maximum:
            self.fail(f"{v} is not <= {self.maximum}", param, ctx)
        return v


class Size(click.ParamType):
    """A number of bytes: 268435456, 256MB, 256MiB, 2G."""

    name = "size"
    UNITS: ClassVar[dict[str, int]] = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().removesuffix("b").removesuffix("i")
        number, unit = text.rstrip("kmgt"), text[len(text.rstrip("kmgt")) :]
        try:
            size = float(number) * self.UNITS[unit]
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size such as 512MB or 2GiB", param, ctx)
        if not math.isfinite(size) or size < 2**20:
            self.fail(f"{value!r} is less than 1 MiB", param, ctx)
        return int(size)


class WholeList(click.ParamType):
    """Whole numbers: ``10``, ``2,10,100``, ``0..9`` (inclusive), or a mix of these."""

    name = "list"

    def __init__(self, minimum: int):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        out: list[int] = []
        for part in str(value).split(","):
            part = part.strip()
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
    """One or more of a set, comma-separated."""

    name = "list"

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = allowed

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return _choices(str(value), self.allowed, param.name if param else "value")
        except click.BadParameter as e:
            self.fail(e.format_message(), param, ctx)


def _choices(value: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    """A comma-separated choice from ``allowed``, or ``all``."""
    if value == "all":
        return allowed
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in names if s not in allowed]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown {what} {', '.join(map(repr, unknown)) or repr(value)}; choose from {', '.join(allowed)} or all"
        )
    return names


def _scenarios(ctx, param, value: str) -> tuple[str, ...]:
    return _choices(value, SCENARIOS, "scenario")


class SmgradGroup(click.Group):
    """Runs a command and turns every usage problem into one line on stderr."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "smgrad"
            _fail(f"{e.format_message()} (see '{where} --help')", EXIT_USAGE)
        except UsageError as e:
            _fail(str(e), EXIT_USAGE)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted", EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _fail(message: str, code: int):
    click.echo(f"smgrad: error: {message}", err=True)
    sys.exit(code)


def _console(file=None):
    from rich.console import Console

    if file is not None:
        return Console(file=file, no_color=True, force_terminal=False, width=100, highlight=False)
    return Console(highlight=False, soft_wrap=False)


def common_options(f):
    """Options shared by the commands that draw a problem."""

    @click.option(
        "--method",
        type=click.Choice(METHODS),
        default="auto",
        show_default=True,
        help="Numerical method; auto = complex step where the function allows it, else richardson.",
    )
    @click.option("--step", type=Number(0, open_=True), default=None, help="Step size (default: from the error model).")
    @click.option(
        "--scale", type=Number(0, open_=True), default=2.0, show_default=True, help="Spread of typical logits."
    )
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


@click.group(cls=SmgradGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    None, "--version", "-V", package_name="smgrad", prog_name="smgrad", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx):
    """Check softmax and softmax + cross-entropy gradients against numerical derivatives.

    `smgrad check` takes its defaults from a [tool.smgrad] table in the project's
    pyproject.toml, if there is one; options on the command line override them.

    \b
    Example:
        smgrad check --dim 10
    """
    from smgrad.project import check_defaults

    defaults = check_defaults()
    if defaults:
        ctx.default_map = {"check": defaults}


@cli.command()
@click.option(
    "--dim", type=WholeList(1), default="10", show_default=True, help="Number of classes n; 2,10,100 runs each."
)
@click.option("--batch", type=Batch(), default="4", show_default=True, help="Rows B, or 'none' for one 1-D vector.")
@click.option(
    "--seed", type=WholeList(0), default="0", show_default=True, help="Seed of the random logits; 0..9 runs each."
)
@click.option(
    "--dtype", type=ChoiceList(DTYPES), default="float64", show_default=True, help="float64, float32 or both."
)
@common_options
@click.option(
    "--scenarios",
    default="all",
    show_default=True,
    callback=_scenarios,
    help=f"Comma-separated, from {', '.join(SCENARIOS)}.",
)
@click.option("--rtol", type=Number(0), default=None, help="Override the relative tolerance.")
@click.option("--atol", type=Number(0), default=None, help="Override the absolute tolerance.")
@click.option("--targets", type=click.Choice(TARGETS), default="onehot", show_default=True)
@click.option(
    "--label-smoothing", type=Number(0), default=0.0, show_default=True, help="Mix targets with uniform: (1-e)t + e/n."
)
@click.option(
    "--target-sum", type=Number(0, open_=True), default=1.0, show_default=True, help="Scale targets to this sum."
)
@click.option("--reduction", type=click.Choice(["mean", "sum"]), default="mean", show_default=True)
@click.option(
    "--impl",
    "spec",
    default=None,
    metavar="SPEC",
    help="Your implementation: path/to/file.py or package.module, optionally :object.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="auto",
    show_default=True,
    help="full: every entry; fast: sampled columns and random projections; auto: fast above B·n² = 4e6.",
)
@click.option(
    "--max-memory", type=Size(), default="1GiB", show_default=True, help="Memory for perturbations and Jacobians."
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write the report to a file.")
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Also write a JUnit XML report to FILE.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line (table format).")
def check(
    dim,
    batch,
    seed,
    dtype,
    method,
    step,
    scale,
    scenarios,
    rtol,
    atol,
    targets,
    label_smoothing,
    target_sum,
    reduction,
    spec,
    fmt,
    mode,
    max_memory,
    output,
    junit,
    quiet,
):
    """Check the analytic derivatives against numerical ones, in every scenario.

    Exit code 0 when every check passes, 1 when one fails, 2 on a usage error.

    With --impl, your own functions are checked: any of softmax(x),
    softmax_jacobian(x), softmax_backward(x, grad_y), cross_entropy(x, target) and
    cross_entropy_grad(x, target); absent ones are skipped.

    \b
    Example:
        smgrad check --dim 10 --batch 4 --dtype float32
        smgrad check --impl mynet/layers.py --targets index
        smgrad check --dim 100 --format json --output report.json
    """
    from smgrad import checks, render
    from smgrad.impl import as_implementation

    if len(dim) * len(seed) * len(dtype) > 10_000:
        raise UsageError("more than 10000 runs of dims x seeds x dtypes; give fewer values")
    base = dict(
        batch=batch,
        scale=scale,
        scenarios=scenarios,
        method=method,
        step=step,
        rtol=rtol,
        atol=atol,
        targets=targets,
        label_smoothing=label_smoothing,
        target_sum=target_sum,
        reduction=reduction,
        impl=spec,
        max_memory=max_memory,
        mode=mode,
    )
    configs = [Config(dim=n, seed=k, dtype=t, **base) for n in dim for k in seed for t in dtype]
    implementation = as_implementation(spec, batch is None, targets, reduction)
    sink = _open_output(output)
    junit_sink = _open_output(junit, "--junit")
    report = _run_with_progress(checks, configs, implementation, fmt == "table" and not quiet and sink is None)
    if junit_sink is not None:
        with junit_sink:
            junit_sink.write(render.junit_xml(report))
    _github_step_summary(render.markdown(report))
    if fmt == "json":
        text = report.to_json()
    elif fmt == "markdown":
        text = render.markdown(report)
    else:
        text = None
    if sink is not None:
        with sink:
            if text is None:
                render.print_report(_console(sink), report)
            else:
                sink.write(text + "\n")
        if not quiet:
            click.echo(render.verdict(report))
    elif text is not None:
        click.echo(text)
    elif quiet:
        click.echo(render.verdict(report))
    else:
        render.print_report(_console(), report)
    return EXIT_OK if report.passed else EXIT_FAILED


def _run_with_progress(checks, configs, implementation, show: bool):
    """Run, with a progress bar on a terminal when there is much to do."""
    long = len(configs) > 1 or any((c.batch or 1) * c.dim**2 >= 10**6 for c in configs)
    if not show or not long:
        return checks.run_all(configs, implementation)
    from rich.progress import Progress

    console = _console()
    if not console.is_terminal:
        return checks.run_all(configs, implementation)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("checking", total=sum(len(c.scenarios) for c in configs))
        return checks.run_all(configs, implementation, lambda done, total: bar.update(task, completed=done))


def _open_output(path: str | None, option: str = "--output"):
    """Open an output file before any work, so a bad path costs nothing."""
    if path is None:
        return None
    try:
        return open(path, "w", encoding="utf-8")  # closed by the caller
    except OSError as e:
        raise UsageError(f"cannot write {option} {path!r}: {e.strerror}") from None


def _github_step_summary(text: str) -> None:
    """On GitHub Actions, append the Markdown summary to the job's summary page."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as e:
        click.echo(f"smgrad: warning: cannot append to GITHUB_STEP_SUMMARY {path!r}: {e.strerror}", err=True)


@cli.command()
@click.option("--dim", type=Whole(1, 12), default=5, show_default=True, help="Number of classes (at most 12).")
@click.option("--seed", type=Whole(0), default=0, show_default=True, help="Seed of the random logits.")
@click.option("--dtype", type=click.Choice(DTYPES), default="float64", show_default=True)
@common_options
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS),
    default="typical",
    show_default=True,
    help="Where x comes from.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def jacobian(dim, seed, dtype, method, step, scale, scenario, fmt):
    """Show the analytic, numerical and difference Jacobians of softmax for one vector.

    The worst entry is marked, and the structure the seed predicts (symmetric, rows
    summing to 0, diagonal y(1-y), positive semi-definite) is checked on the numerical
    Jacobian. Exit code 1 if the two Jacobians disagree beyond the error bound.

    \b
    Example:
        smgrad jacobian --dim 4 --seed 1
    """
    from smgrad import render
    from smgrad.jacobian import jacobian_view

    view = jacobian_view(dim, seed, dtype, method, scenario, step, scale)
    if fmt == "json":
        click.echo(render.json_text(view.to_dict()))
    else:
        render.print_jacobian(_console(), view, dtype, seed)
    return EXIT_OK if view.passed else EXIT_FAILED


@cli.command()
@click.option(
    "--target",
    type=click.Choice(["softmax_jacobian", "cross_entropy_grad"]),
    default="softmax_jacobian",
    show_default=True,
    help="What to differentiate.",
)
@click.option("--dim", type=Whole(2, 1000), default=10, show_default=True, help="Number of classes (2 to 1000).")
@click.option("--seed", type=Whole(0), default=0, show_default=True)
@click.option("--dtype", type=click.Choice(DTYPES), default="float64", show_default=True)
@click.option("--scale", type=Number(0, open_=True), default=2.0, show_default=True, help="Spread of the logits.")
@click.option(
    "--methods",
    default="all",
    show_default=True,
    callback=lambda c, p, v: _methods(v),
    help="Comma-separated, from forward, backward, central, richardson, complex.",
)
@click.option("--impl", "spec", default=None, metavar="SPEC", help="Sweep over your own forward functions.")
@click.option(
    "--batch",
    type=click.Choice(["1", "none"]),
    default="1",
    show_default=True,
    help="'none' passes your functions one 1-D vector, for single-sample implementations.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plot", "plot_file", default=None, metavar="FILE", help="Write a log-log figure (.png, .svg, .pdf).")
def sweep(target, dim, seed, dtype, scale, methods, spec, batch, fmt, plot_file):
    """Show the error of each numerical method against the step size.

    Truncation error falls with the step and rounding error grows as it shrinks: a
    "V" per real-step method, bottoming out near eps^(1/(p+1)); the complex step has
    no subtraction and stays at rounding level. Shows the best step found, the step
    smgrad picks by default and the textbook optimum.

    \b
    Example:
        smgrad sweep --dim 10
        smgrad sweep --target cross_entropy_grad --dtype float32 --plot sweep.png
    """
    from smgrad import render
    from smgrad.impl import as_implementation
    from smgrad.sweep import sweep as run_sweep

    implementation = as_implementation(spec, batch == "none", "onehot", "mean") if spec else None
    result = run_sweep(target, dim, seed, dtype, methods, implementation, scale)
    if plot_file:
        from smgrad.plot import plot_sweep

        plot_sweep(result, plot_file)
    if fmt == "json":
        click.echo(render.json_text(result.to_dict()))
    else:
        render.print_sweep(_console(), result)
        if plot_file:
            click.echo(f"figure written to {plot_file}")
    return EXIT_OK


@cli.command()
@click.option("--dim", type=Whole(1, 8), default=4, show_default=True, help="Number of classes (at most 8).")
@click.option("--seed", type=Whole(0), default=0, show_default=True)
@click.option("--targets", type=click.Choice(["onehot", "soft"]), default="onehot", show_default=True)
@click.option(
    "--target-sum",
    type=Number(0, open_=True),
    default=1.0,
    show_default=True,
    help="Scale the targets to this sum, to see which step needs Σt = 1.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def derive(dim, seed, targets, target_sum, fmt):
    """Walk through the seed's derivation, each line evaluated on a random sample.

    Softmax, the two cases of its Jacobian, and the cross-entropy gradient from the
    chain rule down to y - t. With targets that do not sum to 1 (--target-sum 0.7) the
    step that needs sum(t) = 1 is shown failing, followed by the general form
    y*sum(t) - t. Exit code 1 if a line that should hold does not.

    \b
    Example:
        smgrad derive
        smgrad derive --targets soft --target-sum 0.7
    """
    from smgrad import render
    from smgrad.derive import derive as run_derive
    from smgrad.derive import sample

    chains = run_derive(dim, seed, targets, target_sum)
    s = sample(dim, seed, targets, target_sum)
    needs_unit = [line for c in chains for line in c.lines if not line.holds and not line.step.assumes_unit_sum]
    if fmt == "json":
        click.echo(render.json_text(render.derivation_dict(chains, s.x, s.t)))
    else:
        render.print_derivation(_console(), chains, s.x, s.t, seed)
    return EXIT_FAILED if needs_unit else EXIT_OK


def _methods(value: str) -> tuple[str, ...]:
    return _choices(value, METHODS[1:], "method")  # every method but auto


@cli.command()
def schema():
    """Print the JSON Schema of `smgrad check --format json`.

    Every JSON report carries "schema_version"; the schema changes only with it.

    \b
    Example:
        smgrad schema > smgrad-report.schema.json
    """
    import json

    from smgrad.report import schema as report_schema

    click.echo(json.dumps(report_schema(), indent=2))
    return EXIT_OK


def main() -> None:
    """Console-script entry point."""
    cli()
