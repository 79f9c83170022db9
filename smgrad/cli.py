"""The ``smgrad`` command. Parses options, runs the checks, renders; does no maths.

Every error a user can fix ends as one line on stderr and exit code 2; a failed check is
exit code 1; success is 0. No traceback reaches the user for any of these.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from smgrad import options
from smgrad.config import DTYPES, METHODS, SCENARIOS
from smgrad.errors import UsageError
from smgrad.params import ChoiceList, Number, Whole

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Stopped(BaseException):
    """An interrupt, carried past click (which would print a blank line and abort)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class SmgradGroup(click.Group):
    """Runs a command and turns every usage problem into one line on stderr."""

    def invoke(self, ctx):
        from smgrad.usercode import Interrupted

        try:
            return super().invoke(ctx)
        except Interrupted as e:
            raise _Stopped(e.code, "interrupted" if e.code == EXIT_INTERRUPTED else f"terminated ({e})") from None
        except KeyboardInterrupt:
            raise _Stopped(EXIT_INTERRUPTED, "interrupted") from None

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
        except _Stopped as e:
            _fail(str(e), e.code)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted", EXIT_INTERRUPTED)
        except MemoryError as e:
            _fail(
                f"out of memory: {e or 'an allocation failed'}; use a smaller --dim, --batch or --max-memory",
                EXIT_USAGE,
            )
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _fail(message: str, code: int):
    click.echo(f"smgrad: error: {message}", err=True)
    sys.exit(code)


def _console(file=None, stderr: bool = False):
    from rich.console import Console

    if file is not None:
        return Console(file=file, no_color=True, force_terminal=False, width=100, highlight=False)
    return Console(highlight=False, soft_wrap=False, stderr=stderr)


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
def cli():
    """Check softmax and softmax + cross-entropy gradients against numerical derivatives.

    `smgrad check` takes its defaults from a [tool.smgrad] table in the project's
    pyproject.toml, if there is one; options on the command line override them.

    \b
    Example:
        smgrad check --dim 10
    """


@cli.command()
@options.click_options
@click.option("--no-config", is_flag=True, help="Ignore [tool.smgrad] in pyproject.toml.")
def check(no_config, **given):
    """Check the analytic derivatives against numerical ones, in every scenario.

    Exit code 0 when every check passes, 1 when one fails, raises, hangs or has no
    power to tell, 2 on a usage error, 130 on Ctrl-C (143 on SIGTERM).

    With --impl, your own functions are checked: any of softmax(x),
    softmax_jacobian(x), softmax_backward(x, grad_y), cross_entropy(x, target) and
    cross_entropy_grad(x, target); absent ones are skipped.

    \b
    Example:
        smgrad check --dim 10 --batch 4 --dtype float32
        smgrad check --impl mynet/layers.py --targets index
        smgrad check --dim 100 --format json --output report.json
    """
    import dataclasses
    import signal

    from smgrad import api, project, render, reportfile, usercode

    ctx = click.get_current_context()
    typed = {k: v for k, v in given.items() if ctx.get_parameter_source(k) != click.core.ParameterSource.DEFAULT}
    defaults = project.ProjectDefaults() if no_config else project.load()
    values = {**defaults.values, **typed}
    out = options.with_defaults({k: values.pop(k) for k in list(values) if options.BY_NAME[k].output})
    for name in ("output", "junit"):
        if out[name] is not None:
            reportfile.check_writable(out[name], f"--{name}")
    show_progress = out["format"] == "table" and not out["quiet"]
    with usercode.interrupts((signal.SIGINT, signal.SIGTERM)), usercode.stdout_to_stderr():
        report = _run_with_progress(api.check, values, show_progress)
    report = dataclasses.replace(report, config_file=project.shown(defaults.path) if defaults.path else None)
    writers = {"json": lambda r: r.to_json(), "markdown": render.markdown, "table": render.plain_text}
    if out["junit"] is not None:
        reportfile.write(out["junit"], render.junit_xml(report), "--junit")
    _github_step_summary(render.markdown(report))
    if out["output"] is not None:
        text = writers[out["format"]](report)
        reportfile.write(out["output"], text if text.endswith("\n") else text + "\n", "--output")
        if not out["quiet"]:
            click.echo(render.verdict(report))
    elif out["format"] != "table":
        click.echo(writers[out["format"]](report))
    elif out["quiet"]:
        click.echo(render.verdict(report))
    else:
        render.print_report(_console(), report)
    return EXIT_OK if report.passed else EXIT_FAILED


def _run_with_progress(run, values: dict, show: bool):
    """Run, with a progress bar on a terminal (standard error) when there is much to do."""
    console = _console(stderr=True)
    if not show or not console.is_terminal:
        return run(**values)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("checking", total=None)
        return run(**values, progress=lambda done, total: bar.update(task, completed=done, total=total))


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
    type=ChoiceList(METHODS[1:], "method"),  # every method but auto
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
