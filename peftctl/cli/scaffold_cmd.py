"""``peftctl new-method NAME``: write a ready-to-install method plugin package."""

from __future__ import annotations

from pathlib import Path

import typer

DIR_OPTION = typer.Option(None, "--dir", help="Where to write it (default: ./peftctl-NAME).")
PEFT_OPTION = typer.Option(
    None,
    "--peft-config",
    help="Wrap this peft tuner (a peft config class, e.g. LoHaConfig): its options become the "
    "method's, peft_config() builds it.",
)

VERSION_OPTION = typer.Option(
    None, "--version", help="The package's version (default 0.1.0), e.g. 0.2.0."
)


def new_method(
    name: str = typer.Argument(..., help="Registered name of the new method, e.g. my_method."),
    directory: Path = DIR_OPTION,
    peft_config: str = PEFT_OPTION,
    version: str = VERSION_OPTION,
) -> None:
    """Write a plugin package for a new method: pyproject with the entry point, config, method,
    contract test, recipe and README. It installs and passes its own tests unchanged."""
    from peftctl.scaffold import new_method as scaffold

    target = scaffold(name, directory, peft_config, version)
    typer.echo(
        f"wrote {target}/ for method '{name}'. Next: pip install -e {target} && "
        f"peftctl list-methods && pytest {target / 'tests'}"
    )


def register(app: typer.Typer) -> None:
    app.command("new-method")(new_method)
