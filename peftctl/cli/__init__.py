"""The ``peftctl`` command line. Commands import heavy libraries inside their bodies only."""

from __future__ import annotations

import sys

import typer

from peftctl import __version__
from peftctl.cli.lazy_coercion import use_lazy_coercion
from peftctl.errors import PeftctlError

app = typer.Typer(
    name="peftctl",
    help="Train, evaluate and compare parameter-efficient fine-tuning methods.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"peftctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Train, evaluate and compare parameter-efficient fine-tuning methods."""


def _register_commands() -> None:
    from peftctl.cli import (
        bench_cmd,
        datasets_cmd,
        eval_cmd,
        export_cmd,
        generate_cmd,
        listing,
        merge_cmd,
        scaffold_cmd,
        serve_cmd,
        train_cmd,
        ui_cmd,
    )

    listing.register(app)
    train_cmd.register(app)
    datasets_cmd.register(app)
    eval_cmd.register(app)
    generate_cmd.register(app)
    serve_cmd.register(app)
    merge_cmd.register(app)
    export_cmd.register(app)
    scaffold_cmd.register(app)
    bench_cmd.register(app)
    ui_cmd.register(app)


_register_commands()
use_lazy_coercion(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user mistakes (ours and click's usage errors) become one
    line and exit code 2; Ctrl-C is exit code 130."""
    try:
        code = app(args=argv, prog_name="peftctl", standalone_mode=False)
    except PeftctlError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except _CLICK_ERROR as exc:  # usage errors: unknown option or command, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":  # `peftctl` or a group alone: its help
            print(exc.format_message(), file=sys.stderr)
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        see = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
        _fail(f"{exc.format_message()}{see}", exc.exit_code)
    if isinstance(code, int) and code:
        sys.exit(code)


# click's base error, wherever typer takes click from (it may vendor it)
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _fail(message: str, code: int) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)
