"""Typer with the lazy-coercion classes parses exactly as plain typer, without pydantic until an
option value needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Annotated

import pytest
import typer
from typer.core import TyperCommand
from typer.testing import CliRunner

from peftctl.cli.lazy_coercion import LazyCommand, LazyGroup, use_lazy_coercion


def make_app(lazy: bool) -> typer.Typer:
    app = typer.Typer()
    sub = typer.Typer()

    @app.command()
    def show(
        n: int = typer.Option(None, "--n", min=1),
        name: str = typer.Option(None, "--name"),
        tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
        pair: tuple[int, int] = typer.Option(None, "--pair"),
        flag: bool = typer.Option(False, "--flag"),
    ) -> None:
        print(json.dumps([n, name, tags, pair, flag]))

    @sub.command("echo")
    def echo(word: str = typer.Argument(...)) -> None:
        print(word)

    app.add_typer(sub, name="sub")
    if lazy:
        use_lazy_coercion(app)
    return app


ARGVS = [
    ["show"],
    ["show", "--n", "3", "--name", "x", "--tag", "a", "--tag", "b", "--pair", "1", "2"],
    ["show", "--n", "0"],
    ["show", "--n", "three"],
    ["show", "--flag"],
    ["show", "--help"],
    ["sub", "echo", "hi"],
    ["sub", "echo"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_parses_exactly_as_plain_typer(argv):
    runner = CliRunner()
    plain = runner.invoke(make_app(lazy=False), argv)
    lazy = runner.invoke(make_app(lazy=True), argv)
    assert (lazy.exit_code, lazy.output) == (plain.exit_code, plain.output)


def test_every_command_and_sub_app_gets_the_classes_unless_it_names_its_own():
    class Own(TyperCommand):
        pass

    app = make_app(lazy=False)
    app.command("own", cls=Own)(lambda: None)
    use_lazy_coercion(app)
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    assert isinstance(group.commands["show"], LazyCommand)
    assert isinstance(group.commands["sub"], LazyGroup)
    assert isinstance(group.commands["sub"].commands["echo"], LazyCommand)
    assert type(group.commands["own"]) is Own


PROBE = """
import sys
from tests.core.test_lazy_coercion import make_app
app = make_app(lazy={lazy})
try:
    app({argv!r})
except SystemExit:
    pass
print("pydantic" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("lazy", "argv", "imported"),
    [
        (False, ["show"], True),  # the cost this module removes
        (True, ["show"], False),
        (True, ["show", "--flag"], False),
        (True, ["show", "--n", "2"], True),  # a value to coerce: typer's own coercer
    ],
)
def test_pydantic_is_imported_only_for_a_value_to_coerce(lazy, argv, imported):
    probe = PROBE.format(lazy=lazy, argv=argv)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == str(imported)
