"""The Results table as HTML: readable numbers ("—" for empty), the columns the user picked,
rows grouped by a column, headers that sort on click (the page's script: :data:`SORT_JS`,
raw values in ``data-v``). Pure python, no gradio."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

#: What the table shows until the user picks columns.
DEFAULT_COLUMNS = (
    "id",
    "label",
    "dataset",
    "seed",
    "lr",
    "status",
    "test_primary",
    "trainable_params",
    "train_seconds",
    "peak_rss_gb",
)
GROUP_CHOICES = ("none", "label", "dataset", "source", "status")
EMPTY = "—"
_COUNTS = {"trainable_params", "total_params", "inference_flops"}
_BYTES = {"adapter_bytes", "peak_gpu_bytes"}
_SECONDS = {"train_seconds", "cell_seconds", "seconds"}
_LEARNING_RATES = {"lr"}
_GIGABYTES = {"peak_rss_gb"}


def format_value(column: str, value: Any) -> str:
    """How a cell reads: 0.800, 460.8K, 1.5 s, 5e-04, yes, — for empty."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if column in _COUNTS:
        return _short_number(value)
    if column in _BYTES:
        return _short_number(value, unit="B")
    if column in _SECONDS:
        return f"{value:.1f} s"
    if column in _LEARNING_RATES:
        return _exponent(value) if value < 1e-2 else f"{value:g}"
    if column in _GIGABYTES:
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 1000:
        return _short_number(value)
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    group_by: str = "none",
    table_id: str = "results",
) -> str:
    """The rows as an HTML table of ``columns``, one ``tbody`` per group of ``group_by``."""
    columns = [c for c in columns if any(c in row for row in rows)] or list(columns)
    if not rows:
        return '<p class="peftctl-empty">No rows: clear the filter, or run something.</p>'
    head = "".join(
        f'<th data-col="{html.escape(c)}" data-type="{_kind(rows, c)}" title="click to sort">'
        f"{html.escape(c)}</th>"
        for c in columns
    )
    bodies = []
    for group, members in _groups(rows, group_by):
        cells = "".join(_row(row, columns) for row in members)
        title = ""
        if group is not None:
            label = html.escape(format_value(group_by, group))
            title = (
                f'<tr class="group"><td colspan="{len(columns)}">{html.escape(group_by)} = '
                f"{label} · {len(members)} row{'s' * (len(members) != 1)}</td></tr>"
            )
        bodies.append(f"<tbody>{title}{cells}</tbody>")
    return (
        f'<div class="peftctl-table-wrap"><table class="peftctl-table" id="{table_id}-html">'
        f"<thead><tr>{head}</tr></thead>{''.join(bodies)}</table></div>"
    )


def _row(row: dict[str, Any], columns: Sequence[str]) -> str:
    cells = []
    for column in columns:
        value = row.get(column)
        raw = "" if value is None else str(value)
        text = format_value(column, value)
        cells.append(
            f'<td data-v="{html.escape(raw)}" title="{html.escape(raw)}">{html.escape(text)}</td>'
        )
    return f'<tr data-id="{html.escape(str(row.get("id", "")))}">{"".join(cells)}</tr>'


def _groups(rows: Sequence[dict[str, Any]], group_by: str):
    if group_by in ("", "none"):
        return [(None, list(rows))]
    keys = dict.fromkeys(row.get(group_by) for row in rows)
    return [(key, [r for r in rows if r.get(group_by) == key]) for key in keys]


def _kind(rows: Sequence[dict[str, Any]], column: str) -> str:
    values = [row.get(column) for row in rows if row.get(column) is not None]
    numeric = values and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
    return "num" if numeric else "text"


def _exponent(value: float) -> str:
    """5e-4, 1.5e-5: a learning rate as people write it."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _short_number(value: float, unit: str = "") -> str:
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}{unit}"
    return f"{value:g}{' ' + unit if unit else ''}"


#: Sorting on header click for every ``table.peftctl-table`` on the page, kept across the
#: page's refreshes (a MutationObserver re-applies the last sort to a re-rendered table).
SORT_JS = """
(() => {
  const state = {};
  const value = (row, i) => row.children[i] ? row.children[i].dataset.v : "";
  function apply(table) {
    const s = state[table.id]; if (!s) return;
    const ths = [...table.querySelectorAll("thead th")];
    const i = ths.findIndex(th => th.dataset.col === s.col); if (i < 0) return;
    const num = ths[i].dataset.type === "num";
    ths.forEach(th => th.removeAttribute("data-dir")); ths[i].dataset.dir = s.dir;
    const sign = s.dir === "asc" ? 1 : -1;
    table.querySelectorAll("tbody").forEach(body => {
      const rows = [...body.querySelectorAll("tr:not(.group)")];
      rows.sort((a, b) => {
        const x = value(a, i), y = value(b, i);
        if (x === "" || y === "") return (x === "") - (y === "");  // empty last
        return sign * (num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y));
      });
      rows.forEach(r => body.appendChild(r));
    });
  }
  document.addEventListener("click", event => {
    const th = event.target.closest("table.peftctl-table th[data-col]"); if (!th) return;
    const table = th.closest("table"), s = state[table.id];
    const same = s && s.col === th.dataset.col;  // a second click flips the order
    const dir = same ? (s.dir === "desc" ? "asc" : "desc")
                     : (th.dataset.type === "num" ? "desc" : "asc");
    state[table.id] = {col: th.dataset.col, dir}; apply(table);
  });
  new MutationObserver(() => document.querySelectorAll("table.peftctl-table").forEach(t => {
    if (state[t.id] && !t.querySelector("th[data-dir]")) apply(t);
  })).observe(document.documentElement, {childList: true, subtree: true});
})();
"""

TABLE_CSS = """
.peftctl-table-wrap { overflow-x: auto; max-height: 560px; overflow-y: auto; }
table.peftctl-table { border-collapse: collapse; font-size: 0.9em; width: max-content; }
table.peftctl-table th, table.peftctl-table td {
  padding: 4px 10px; border-bottom: 1px solid var(--border-color-primary); white-space: nowrap;
}
table.peftctl-table th { position: sticky; top: 0; background: var(--background-fill-secondary);
  cursor: pointer; user-select: none; text-align: left; }
table.peftctl-table th[data-dir="asc"]::after { content: " ▲"; }
table.peftctl-table th[data-dir="desc"]::after { content: " ▼"; }
table.peftctl-table td { font-variant-numeric: tabular-nums; }
table.peftctl-table tr.group td { font-weight: 600; background: var(--background-fill-secondary); }
"""
