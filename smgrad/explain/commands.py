"""``smgrad jacobian``, ``sweep`` and ``derive``: the commands that show the maths rather
than judge an implementation. Options come from the one table (:mod:`smgrad.options`),
narrowed to the single values each command takes."""

from __future__ import annotations

import click

from smgrad.options import METHODS, NUMPY_DTYPES, SCENARIOS, option
from smgrad.params import Choice, ChoiceList, Number, Whole

EXIT_OK, EXIT_FAILED = 0, 1
FORMAT = click.option("--format", "fmt", type=Choice(("table", "json")), default="table", show_default=True)


def _show(fmt: str, data, view) -> None:
    """JSON of ``data`` or the terminal ``view(console)``."""
    from smgrad.explain.views import json_text
    from smgrad.render.terminal import console

    if fmt == "json":
        click.echo(json_text(data.to_dict()))
    else:
        view(console())


@click.command()
@option("dim", type=Whole(1, 12), default=5, help="Number of classes (at most 12).")
@option("seed", type=Whole(0), default=0)
@option("dtype", type=Choice(NUMPY_DTYPES))
@option("method")
@option("step")
@option("scale")
@click.option("--scenario", type=Choice(SCENARIOS), default="typical", show_default=True, help="Where x comes from.")
@FORMAT
def jacobian(dim, seed, dtype, method, step, scale, scenario, fmt):
    """Show the analytic, numerical and difference Jacobians of softmax for one vector.

    The worst entry is marked, and the structure the seed predicts (symmetric, rows
    summing to 0, diagonal y(1-y), positive semi-definite) is checked on the numerical
    Jacobian. Exit code 1 if the two Jacobians disagree beyond the error bound.

    \b
    Example:
        smgrad jacobian --dim 4 --seed 1
    """
    from smgrad.explain.jacobian import jacobian_view
    from smgrad.explain.views import print_jacobian

    view = jacobian_view(dim, seed, dtype, method, scenario, step, scale)
    _show(fmt, view, lambda c: print_jacobian(c, view, dtype, seed))
    return EXIT_OK if view.passed else EXIT_FAILED


@click.command()
@click.option(
    "--target",
    type=Choice(("softmax_jacobian", "cross_entropy_grad")),
    default="softmax_jacobian",
    show_default=True,
    help="What to differentiate.",
)
@option("dim", type=Whole(2, 1000), help="Number of classes (2 to 1000).")
@option("seed", type=Whole(0), default=0)
@option("dtype", type=Choice(NUMPY_DTYPES))
@option("scale", type=Number(0, open_=True))
@click.option(
    "--methods",
    default="all",
    show_default=True,
    type=ChoiceList(METHODS[1:], "method"),  # every method but auto
    help="Comma-separated, from forward, backward, central, richardson, complex.",
)
@option("impl", help="Sweep over your own forward functions.")
@click.option(
    "--batch",
    type=Choice(("1", "none")),
    default="1",
    show_default=True,
    help="'none' passes your functions one 1-D vector, for single-sample implementations.",
)
@FORMAT
@click.option("--plot", "plot_file", default=None, metavar="FILE", help="Write a log-log figure (.png, .svg, .pdf).")
def sweep(target, dim, seed, dtype, scale, methods, impl, batch, fmt, plot_file):
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
    from smgrad.explain.sweep import sweep as run_sweep
    from smgrad.explain.views import print_sweep
    from smgrad.impl import Calling, as_implementation

    implementation = as_implementation(impl, Calling(vector=batch == "none")) if impl else None
    result = run_sweep(target, dim, seed, dtype, methods, implementation, scale)
    if plot_file:
        from smgrad.explain.plot import plot_sweep

        plot_sweep(result, plot_file)
    _show(fmt, result, lambda c: print_sweep(c, result))
    if plot_file and fmt != "json":
        click.echo(f"figure written to {plot_file}")
    return EXIT_OK


@click.command()
@option("dim", type=Whole(1, 8), default=4, help="Number of classes (at most 8).")
@option("seed", type=Whole(0), default=0)
@option("targets", type=Choice(("onehot", "soft")))
@option("target_sum", help="Scale the targets to this sum, to see which step needs Σt = 1.")
@FORMAT
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
    from smgrad.explain.derive import derive as run_derive
    from smgrad.explain.views import print_derivation

    derivation = run_derive(dim, seed, targets, target_sum)
    _show(fmt, derivation, lambda c: print_derivation(c, derivation))
    return EXIT_OK if derivation.passed else EXIT_FAILED
