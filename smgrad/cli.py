"""The ``smgrad`` command: parses options, calls the library, writes what it returns.
Does no maths.

Every error a user can fix ends as one line on stderr and exit code 2; a failed check is
exit code 1; success is 0; an interrupt 130 (SIGTERM 143). No traceback reaches the user.
"""

from __future__ import annotations

import os
import sys

import click

from smgrad import options
from smgrad.errors import UsageError

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
            _fail(e.on_command_line(), EXIT_USAGE)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code)
        except _Stopped as e:
            _fail(str(e), e.code)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted", EXIT_INTERRUPTED)
        except MemoryError as e:
            why = e or "an allocation failed"
            _fail(f"out of memory: {why}; use a smaller --dim, --batch or --max-memory", EXIT_USAGE)
        except Exception as e:  # a bug in smgrad itself: said in one line, never exit 0
            if os.environ.get("SMGRAD_TRACEBACK"):
                raise
            from smgrad.usercode import describe

            why = describe(e, own=True)
            _fail(f"internal error, a bug in smgrad: {why}; please report it (SMGRAD_TRACEBACK=1 shows where)", 2)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _fail(message: str, code: int):
    click.echo(f"smgrad: error: {message}", err=True)
    sys.exit(code)


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

    from smgrad import allocator, api, project, render, reportfile, usercode
    from smgrad.render.terminal import console

    allocator.keep_freed_pages()

    source = click.get_current_context().get_parameter_source
    typed = {k: v for k, v in given.items() if source(k) != click.core.ParameterSource.DEFAULT}
    defaults = project.ProjectDefaults() if no_config else project.load()
    values = {**defaults.values, **typed}
    out = options.with_defaults({k: values.pop(k) for k in list(values) if options.BY_NAME[k].output})
    for name in ("output", "junit"):
        if out[name] is not None:
            reportfile.check_writable(out[name], f"--{name}")
    with usercode.interrupts((signal.SIGINT, signal.SIGTERM)), usercode.stdout_to_stderr():
        report = _with_progress(api.check, values, out["format"] == "table" and not out["quiet"])
    report = dataclasses.replace(report, config_file=project.shown(defaults.path) if defaults.path else None)
    if out["junit"] is not None:
        reportfile.write(out["junit"], render.junit_xml(report), "--junit")
    _github_step_summary(render.markdown(report))
    writers = {"json": lambda r: r.to_json() + "\n", "markdown": lambda r: render.markdown(r) + "\n"}
    writers["table"] = render.plain_text
    if out["output"] is not None:
        reportfile.write(out["output"], writers[out["format"]](report), "--output")
        if not out["quiet"]:
            click.echo(render.verdict(report))
    elif out["format"] != "table":
        click.echo(writers[out["format"]](report), nl=False)
    elif out["quiet"]:
        click.echo(render.verdict(report))
    else:
        render.print_report(console(), report)
    return EXIT_OK if report.passed else EXIT_FAILED


def _with_progress(run, values: dict, wanted: bool):
    """Run, with a progress bar when standard error is a terminal."""
    from smgrad.render.terminal import console

    bar_console = console(stderr=True)
    if not wanted or not bar_console.is_terminal:
        return run(**values)
    from rich.progress import Progress

    with Progress(console=bar_console, transient=True) as bar:
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


def _add_explain_commands() -> None:
    from smgrad.explain.commands import derive, jacobian, sweep

    for command in (jacobian, sweep, derive):
        cli.add_command(command)


_add_explain_commands()


def main() -> None:
    """Console-script entry point."""
    cli()
