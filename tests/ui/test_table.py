"""The Results table: readable numbers, picked columns, groups, raw values for sorting."""

from __future__ import annotations

import re

import pytest

from peftctl.ui import data, table


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("lr", 0.0005, "5e-4"),
        ("lr", 1.5e-5, "1.5e-5"),
        ("peak_rss_gb", 1.0, "1.00"),
        ("lr", 0.02, "0.02"),
        ("status", "finished", "finished"),
        ("test_primary", 0.64012, "0.640"),
        ("trainable_params", 460800, "460.8K"),
        ("trainable_params", 134515008, "134.5M"),
        ("train_seconds", 12.345, "12.3 s"),
        ("selected", True, "yes"),
        ("error", None, "—"),
        ("seed", 42, "42"),
        ("mean", float("nan"), "—"),
    ],
)
def test_numbers_read_as_people_write_them(column, value, text):
    assert table.format_value(column, value) == text


def test_only_the_picked_columns_in_order_with_raw_values_for_sorting(served):
    rows = data.table_rows(data.load_records([served]))
    html = table.render(rows, ["label", "test_primary", "error"])
    assert re.findall(r'data-col="(\w+)"', html) == ["label", "test_primary", "error"]
    assert 'data-type="num"' in html and 'data-v="0.8"' in html and ">0.800<" in html
    assert ">—<" in html and "null" not in html and "None" not in html
    assert html.count("<tr data-id=") == 5


def test_grouping_puts_a_header_row_over_each_group(served):
    rows = data.table_rows(data.load_records([served]))
    html = table.render(rows, list(table.DEFAULT_COLUMNS), group_by="label")
    assert html.count("<tbody>") == 2 and "label = lora · 3 rows" in html
    assert "label = ia3 · 2 rows" in html


def test_values_are_escaped_and_no_rows_is_a_sentence():
    html = table.render([{"id": "<b>x</b>", "label": "a&b"}], ["id", "label"])
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "a&amp;b" in html
    assert "No rows" in table.render([], ["id"])
