"""Listing commands: ``list-methods``, ``list-datasets``, ``list-metrics``, ``plugins``.

They read plugin records only; none of them imports torch or any model library.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import typer

from peftctl.cli.estimates import trainable_estimates
from peftctl.errors import PeftctlError
from peftctl.models.names import DEFAULT_MODEL
from peftctl.plugin_manager import Plugins, get_plugins
from peftctl.specs import METHOD_CATEGORIES

JSON_OPTION = typer.Option(False, "--json", help="Print a JSON array instead of a table.")


def plugins_or_warn() -> Plugins:
    """The process's plugins; each failed plugin and each name two plugins register is
    reported once, in one line."""
    plugins = get_plugins()
    for info in plugins.failures():
        print(f"warning: {info.failure_line()}", file=sys.stderr)
    for conflict in plugins.conflicts():
        print(f"warning: {conflict}; it cannot be used until then", file=sys.stderr)
    return plugins


def print_records(title: str, columns: Sequence[str], rows: list[dict[str, Any]], as_json: bool):
    """Print ``rows`` as a JSON array or as a rich table of ``columns``."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    for i, column in enumerate(columns):  # short fields stay on one line, long ones wrap
        longest = max((len(row[i]) for row in cells), default=0)
        table.add_column(column, no_wrap=longest <= 16, overflow="fold")
    for row in cells:
        table.add_row(*row)
    Console().print(table)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def list_methods(
    category: str = typer.Option(None, "--category", "-c", help="Only this category."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the installed PEFT methods."""
    methods = plugins_or_warn().methods.all()
    if category is not None and category not in METHOD_CATEGORIES:
        raise PeftctlError(
            f"--category must be one of {', '.join(METHOD_CATEGORIES)}, not '{category}'"
        )
    trainable = trainable_estimates(methods)  # of all methods: one kept set serves every filter
    methods = [m for m in methods if category in (None, m.category)]
    rows = [
        {
            "name": m.name,
            "category": m.category,
            "mergeable": m.mergeable,
            "trainable": trainable[m.name],
            "package": m.package,
            "version": m.version,
            "summary": m.summary,
        }
        for m in methods
    ]
    if not as_json:
        for row in rows:
            row["trainable"] = short_count(row["trainable"])
    title = f"Methods (trainable: parameters on {DEFAULT_MODEL}, default options)"
    columns = ["name", "category", "trainable", "mergeable", "package", "summary"]
    print_records(title, columns, rows, as_json)


def short_count(n: int | None) -> str:
    """``460800`` -> ``"460.8K"``; None -> ``"-"``."""
    if n is None:
        return "-"
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.1f}{suffix}"
    return str(n)


def list_datasets(as_json: bool = JSON_OPTION) -> None:
    """List the registered datasets and which of their splits are in the local data folder."""
    from peftctl.datasets.sources import data_dir, local_splits

    root = data_dir(None)
    rows = []
    for d in plugins_or_warn().datasets.all():
        here = local_splits(root, d.options.get("local_dir", d.name), d.splits)
        local = "yes" if here and len(here) == len(d.splits) else ", ".join(here) or "no"
        rows.append(
            {
                "name": d.name,
                "task": d.task,
                "metrics": list(d.metrics),
                "splits": d.splits,
                "local": local,
                "hub": " ".join(filter(None, (d.hub_id, d.hub_config))),
                "package": d.package,
                "version": d.version,
                "summary": d.summary,
            }
        )
    columns = ["name", "task", "metrics", "splits", "local", "summary"]
    print_records("Datasets", columns, rows, as_json)


def list_metrics(as_json: bool = JSON_OPTION) -> None:
    """List the registered metrics."""
    rows = [
        {
            "name": m.name,
            "higher_is_better": m.higher_is_better,
            "package": m.package,
            "version": m.version,
            "summary": m.summary,
        }
        for m in plugins_or_warn().metrics.all()
    ]
    print_records("Metrics", ["name", "higher_is_better", "package", "summary"], rows, as_json)


def list_plugins(as_json: bool = JSON_OPTION) -> None:
    """List every plugin found: its package, version, hooks and status."""
    rows = [
        {
            "name": i.name,
            "package": i.package,
            "version": i.version,
            "source": i.source,
            "hooks": i.hooks,
            "status": i.status,
            "error": i.error,
        }
        for i in get_plugins().infos
    ]
    print_records(
        "Plugins", ["name", "package", "version", "hooks", "status", "error"], rows, as_json
    )


def register(app: typer.Typer) -> None:
    app.command("list-methods")(list_methods)
    app.command("list-datasets")(list_datasets)
    app.command("list-metrics")(list_metrics)
    app.command("plugins")(list_plugins)
