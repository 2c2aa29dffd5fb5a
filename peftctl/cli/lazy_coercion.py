"""Typer command classes that leave pydantic unimported until an option value needs it.

typer (0.2x) coerces each option through a pydantic ``TypeAdapter`` that it builds the first
time the option is processed, importing pydantic (~60 ms), and it does so for an option the user
did not give too, whose value is None: every command's ``-h/--help``, ``list-methods
--category``. Only a bool flag holding a bool is skipped. No annotation avoids it, so these
classes (typer's ``cls=``) give every option a stand-in coercer that keeps None as typer would
and hands any other value to typer's own, built then. If typer stops having the private slot
used here, the stand-in is simply not installed and typer behaves as before.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

_SLOT = "_runtime_param"  # typer.core._TyperParameter: its coercer, None until built


class _NoneFirst:
    """Coerces None as typer's coercer does; any other value goes to typer's own."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        setattr(param, _SLOT, None)
        return param.get_runtime_param().coerce(value, param=param, ctx=ctx)


_NONE_FIRST = _NoneFirst()


def _defer_coercion(command: Any, ctx: Any) -> None:
    for param in command.get_params(ctx):  # the lazily made help option included
        if getattr(param, _SLOT, False) is None:
            setattr(param, _SLOT, _NONE_FIRST)


class LazyCommand(TyperCommand):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _defer_coercion(self, ctx)
        return super().parse_args(ctx, args)


class LazyGroup(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _defer_coercion(self, ctx)
        return super().parse_args(ctx, args)


def use_lazy_coercion(app: typer.Typer) -> None:
    """Give ``app``, its commands and its sub-apps these classes (unless one names its own)."""
    if not app.info.cls or app.info.cls is TyperGroup:  # unset: a falsy placeholder
        app.info.cls = LazyGroup
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # typer's default
            command.cls = LazyCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_lazy_coercion(group.typer_instance)
