"""The ``peftctl`` command line. Commands import heavy libraries inside their bodies only."""

from __future__ import annotations

import sys

import typer

from peftctl import __version__
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
        generate_cmd,
        listing,
        merge_cmd,
        scaffold_cmd,
        train_cmd,
        ui_cmd,
    )

    listing.register(app)
    train_cmd.register(app)
    datasets_cmd.register(app)
    eval_cmd.register(app)
    generate_cmd.register(app)
    merge_cmd.register(app)
    scaffold_cmd.register(app)
    bench_cmd.register(app)
    ui_cmd.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user mistakes become one line and exit code 2."""
    try:
        app(args=argv, prog_name="peftctl")
    except PeftctlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
