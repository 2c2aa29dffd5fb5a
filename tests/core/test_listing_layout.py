"""Listing tables stay readable in a narrow terminal: names are never broken, summaries keep
a usable width and wrap on words, and low-value columns give way first."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

SUMMARY_MIN_WIDTH = 25  # the narrowest a summary may get


def table_rows(out: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the first table in ``out``, each row's cells being the
    lines of that cell joined by a space (a cell wrapped only between words reads as it was
    written; one broken inside a word does not)."""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("┃"))
    names = [cell.strip() for cell in header.strip("┃").split("┃")]
    rows: list[list[list[str]]] = []
    for line in lines:
        if line.startswith("└"):
            break
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0] or not rows:
            rows.append([[] for _ in cells])
        for parts, cell in zip(rows[-1], cells, strict=True):
            if cell:
                parts.append(cell)
    return names, [[" ".join(parts) for parts in row] for row in rows]


def column_width(out: str, name: str) -> int:
    """The inner width of the column headed ``name``."""
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    return next(len(c) - 2 for c in header.strip("┃").split("┃") if c.strip() == name)


def listed(cli, command: str) -> list[dict]:
    code, out, err = cli(command, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def columns(monkeypatch):
    def set_width(width: int) -> None:
        monkeypatch.setenv("COLUMNS", str(width))

    return set_width


def test_list_methods_at_80_columns_keeps_names_whole_and_the_summary_readable(cli, columns):
    methods = listed(cli, "list-methods")
    columns(80)
    code, out, _ = cli("list-methods")
    assert code == 0
    assert max(map(len, out.splitlines())) <= 80
    header, rows = table_rows(out)
    shown = {row[0]: row for row in rows}
    assert set(shown) == {m["name"] for m in methods}  # each name whole, on one line
    assert header[:3] == ["name", "category", "trainable"] and header[-1] == "summary"
    assert column_width(out, "summary") >= SUMMARY_MIN_WIDTH
    for m in methods:
        assert shown[m["name"]][1] == m["category"]
        assert shown[m["name"]][-1] == m["summary"]  # wrapped between words only
    assert "(mergeable, package left out at 80 columns" in out  # says what made room

    columns(120)  # a wide terminal shows every column, as before
    _, out, _ = cli("list-methods")
    assert max(map(len, out.splitlines())) <= 120
    header, rows = table_rows(out)
    assert header == ["name", "category", "trainable", "mergeable", "package", "summary"]
    shown = {row[0]: row for row in rows}
    for m in methods:
        assert shown[m["name"]][4] == m["package"] and shown[m["name"]][5] == m["summary"]
    assert "left out" not in out


@pytest.mark.parametrize("width", [80, 120])
def test_plugins_keeps_names_and_hooks_whole(cli, columns, width):
    plugins = listed(cli, "plugins")
    columns(width)
    code, out, _ = cli("plugins")
    assert code == 0
    assert max(map(len, out.splitlines())) <= width
    header, rows = table_rows(out)
    shown = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(shown) == {p["name"] for p in plugins}
    for p in plugins:
        hooks = [w.strip(",").removeprefix("peftctl_") for w in shown[p["name"]]["hooks"].split()]
        assert hooks == [h.removeprefix("peftctl_") for h in p["hooks"]]  # each hook whole
    # the error column gave way to notes under the table; the version gives way to long
    # package names (peftctl-supertuning) at 80 columns; the rest is all there
    assert header in (
        ["name", "package", "version", "hooks", "status"],
        ["name", "package", "hooks", "status"],
    )
    for p in plugins:
        row = shown[p["name"]]
        assert (row["package"], row.get("version", p["version"]), row["status"]) == (
            p["package"],
            p["version"],
            p["status"],
        )


def test_print_records_gives_room_to_text_and_drops_columns_by_priority():
    from peftctl.cli.listing import Col, print_records

    summary = "a fairly long summary of what this method does and why " * 2
    rows = [
        {"name": f"method_number_{i}", "kind": "reparameterised", "extra": "x" * 20,
         "tags": ["a", "b"], "summary": summary}
        for i in range(3)
    ]  # fmt: skip
    columns = [
        Col("name"),
        Col("kind"),
        Col("extra", drop=1),
        Col("tags", "list"),
        Col("summary", "text"),
    ]

    def render(width: int) -> str:
        console = Console(width=width, file=io.StringIO())
        print_records("T", columns, rows, False, notes=["a note"], console=console)
        return console.file.getvalue()

    wide, narrow = render(160), render(80)
    assert table_rows(wide)[0] == ["name", "kind", "extra", "tags", "summary"]
    header, cells = table_rows(narrow)
    assert header == ["name", "kind", "tags", "summary"]
    assert max(map(len, narrow.splitlines())) <= 80
    assert column_width(narrow, "summary") >= SUMMARY_MIN_WIDTH
    assert [row[0] for row in cells] == [r["name"] for r in rows]
    assert all(row[3] == summary.strip() for row in cells)
    assert "(extra left out at 80 columns" in narrow
    assert narrow.rstrip().endswith("a note")
