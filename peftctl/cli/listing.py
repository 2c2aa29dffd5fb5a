"""Listing commands: ``list-methods``, ``list-datasets``, ``list-metrics``, ``plugins``.

They read plugin records only; none of them imports torch or any model library.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from peftctl.cli.estimates import trainable_estimates
from peftctl.errors import PeftctlError
from peftctl.facts.names import DEFAULT_MODEL
from peftctl.plugin_manager import Plugins, get_plugins
from peftctl.specs import METHOD_CATEGORIES

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

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


#: The narrowest a wrapping text column (a summary, an error) is squeezed to.
TEXT_MIN_WIDTH = 25


@dataclass(frozen=True)
class Col:
    """How one table column behaves when the terminal is too narrow for the whole table.

    ``kind``: ``"name"`` cells (names, numbers) stay on one line and are never broken;
    ``"list"`` cells (comma-separated items) wrap between items only; ``"text"`` cells wrap
    on words and keep at least ``TEXT_MIN_WIDTH`` characters. ``drop``: 0, always shown;
    otherwise the column may be left out (highest first) when the rest would not fit.
    """

    key: str
    kind: str = "name"
    drop: int = 0


def print_records(
    title: str,
    columns: Sequence[str | Col],
    rows: list[dict[str, Any]],
    as_json: bool,
    notes: Sequence[str] = (),
    console: Console | None = None,
) -> None:
    """Print ``rows`` as a JSON array, or as a rich table of ``columns`` fitted to the
    terminal's width followed by ``notes`` (one paragraph each)."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.text import Text

    console = console or Console()
    cells = [[_cell(row.get(_key(column))) for column in columns] for row in rows]
    specs = [
        column if isinstance(column, Col) else _default_col(column, [r[i] for r in cells])
        for i, column in enumerate(columns)
    ]
    table, dropped = _fitted_table(title, specs, cells, console.width)
    console.print(table)
    if dropped:
        console.print(
            Text(
                f"({', '.join(dropped)} left out at {console.width} columns: widen the "
                "terminal or use --json)",
                style="dim",
            )
        )
    for note in notes:
        console.print(Text(note))


def _key(column: str | Col) -> str:
    return column.key if isinstance(column, Col) else column


def _default_col(key: str, cells: list[str]) -> Col:
    """Columns given by name only: short fields stay on one line, long ones wrap."""
    return Col(key, "name" if max(map(len, cells), default=0) <= 16 else "text")


def _fitted_table(
    title: str, columns: list[Col], cells: list[list[str]], width: int
) -> tuple[Table, list[str]]:
    """The rich table of ``cells`` laid out for ``width`` terminal columns, and the keys of
    the columns left out for want of room.

    Name columns keep their natural width; when the whole table is too wide, droppable
    columns go (empty ones first, then by ``drop``) until the others fit at their minimum
    widths, and the rest of the width is shared among the wrapping columns. Where even that
    does not fit, rich squeezes the table as best it can.
    """
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    natural = [
        max([cell_len(c.key), *(cell_len(row[i]) for row in cells)]) for i, c in enumerate(columns)
    ]
    minimum = [
        natural[i] if c.kind == "name" else _min_width(c, [row[i] for row in cells], natural[i])
        for i, c in enumerate(columns)
    ]

    def total(widths: Sequence[int], shown: Sequence[int]) -> int:  # + padding and borders
        return sum(widths[i] for i in shown) + 3 * len(shown) + 1

    shown = list(range(len(columns)))
    widths: dict[int, int] = {}
    if total(natural, shown) > width:
        droppable = sorted(
            (i for i, c in enumerate(columns) if c.drop),
            key=lambda i: (any(row[i] for row in cells), -columns[i].drop),
        )
        for i in droppable:
            if total(minimum, shown) <= width:
                break
            shown.remove(i)
        if total(natural, shown) > width and total(minimum, shown) <= width:
            widths = _share(width - total(minimum, shown), columns, natural, minimum, shown)

    table = Table(title=title, title_justify="left")
    for i in shown:
        column = columns[i]
        table.add_column(
            column.key, no_wrap=column.kind == "name", overflow="fold", width=widths.get(i)
        )
    for row in cells:
        table.add_row(*(Text(row[i]) for i in shown))
    return table, [columns[i].key for i in range(len(columns)) if i not in shown]


def _min_width(column: Col, cells: list[str], natural: int) -> int:
    """A wrapping column's narrowest: its longest word (a list's longest item), and for
    text at least ``TEXT_MIN_WIDTH`` (or all of it, if shorter)."""
    from rich.cells import cell_len

    longest = max((cell_len(w) for text in [column.key, *cells] for w in text.split()), default=1)
    return max(longest, min(natural, TEXT_MIN_WIDTH)) if column.kind == "text" else longest


def _share(
    spare: int, columns: list[Col], natural: list[int], minimum: list[int], shown: list[int]
) -> dict[int, int]:
    """Widths of the wrapping columns: each its minimum, plus ``spare`` characters handed one
    at a time to the column furthest from its natural width."""
    flexible = [i for i in shown if columns[i].kind != "name"]
    widths = {i: minimum[i] for i in flexible}
    for _ in range(spare):
        i = max(flexible, key=lambda i: natural[i] - widths[i], default=None)
        if i is None or widths[i] >= natural[i]:
            break
        widths[i] += 1
    return widths


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
    columns = [
        Col("name"),
        Col("category"),
        Col("trainable"),
        Col("mergeable", drop=1),
        Col("package", drop=2),  # narrow terminals keep name, category, figure and summary
        Col("summary", "text"),
    ]
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
    columns = [
        Col("name"),
        Col("task"),
        Col("metrics", "list", drop=2),
        Col("splits", "list", drop=3),
        Col("local", drop=1),
        Col("summary", "text"),
    ]
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
    """List every plugin found: its package, version, hooks and status; then each failed
    plugin's error and each name two plugins register."""
    plugins = get_plugins()
    rows = [
        {
            "name": i.name,
            "package": i.package,
            "version": i.version,
            "source": i.source,
            "hooks": i.hooks if as_json else [h.removeprefix("peftctl_") for h in i.hooks],
            "status": i.status,
            "error": i.error,
            "conflicts": i.conflicts,
        }
        for i in plugins.infos
    ]
    columns = [
        Col("name"),
        Col("package", drop=1),
        Col("version", drop=2),
        Col("hooks", "list"),
        Col("status"),
    ]
    notes = [
        *(info.failure_line() for info in plugins.failures()),
        *(
            f"conflict: {error}; it alone cannot be used until then"
            for error in plugins.conflicts()
        ),
    ]
    print_records("Plugins", columns, rows, as_json, notes)


def register(app: typer.Typer) -> None:
    app.command("list-methods")(list_methods)
    app.command("list-datasets")(list_datasets)
    app.command("list-metrics")(list_metrics)
    app.command("plugins")(list_plugins)
