"""The page's charts as Vega-Lite specs: colours fixed per run/method, smoothing, eval points
marked, integer steps, Compare's log axis, CI bars, fronts and links to runs."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("altair")

from peftctl.ui import charts, data


def _layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def test_smoothing_is_tensorboards_debiased_moving_average():
    assert charts.smooth([3.0, 1.0], 0.0) == [3.0, 1.0]
    assert charts.smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])  # no bias to 0
    # 0.5 * 0.5 * 4 + 0.5 * 0 = 1, debiased by 1 - 0.25
    assert charts.smooth([4.0, 0.0], 0.5)[1] == pytest.approx(1.0 / 0.75)


def test_a_run_keeps_its_colour_whatever_else_is_plotted():
    palette = charts.colours(["b", "a", "c"])
    assert palette == {"a": charts.PALETTE[0], "b": charts.PALETTE[1], "c": charts.PALETTE[2]}
    curves = {"c": [{"step": 1, "loss": 1.0, "series": "train"}]}
    colour = _layers(charts.loss_chart(curves, palette))[0]["encoding"]["color"]
    assert colour["scale"] == {"domain": ["c"], "range": [charts.PALETTE[2]]}


def test_loss_curves_mark_eval_points_and_count_steps_in_whole_numbers(served):
    records = data.load_records([served])
    runs = ["bench/quick/lora-sst2-s0", "bench/quick/ia3-sst2-s1"]
    curves = {r: data.loss_points(data.resolve_run(records, r, [served])) for r in runs}
    plain = _layers(charts.loss_chart(curves, charts.colours(runs)))
    assert [layer["mark"]["type"] for layer in plain] == ["line", "line", "point"]
    assert plain[2]["mark"]["shape"] == "diamond" and plain[2]["mark"]["filled"]
    assert plain[0]["encoding"]["x"]["axis"] == {"format": "d", "values": [1, 2, 3]}
    smoothed = charts.loss_chart(curves, charts.colours(runs), smoothing=0.6)
    assert len(_layers(smoothed)) == 4  # the raw curve faint behind
    values = smoothed.to_dict()["datasets"]
    train = [row for rows in values.values() for row in rows if row["series"] == "train"]
    assert any(not math.isclose(row["loss"], row["raw"]) for row in train)


def test_compare_plots_means_with_intervals_on_a_log_axis_linking_each_run(served):
    rows = data.table_rows(data.load_records([served]))
    points = data.method_points(rows, "trainable_params", "test_primary")
    for point in points:
        point["vs best"] = ""
    palette = charts.colours([r["label"] for r in rows])
    spec = charts.compare_chart(
        points, "trainable_params", "test_primary", palette, log_x=True, x_title="x",
        y_title="y",
    ).to_dict()  # fmt: skip
    _, bars, _, means = spec["layer"]
    assert means["encoding"]["x"]["scale"] == {"type": "log"}
    assert bars["mark"]["type"] == "rule" and bars["encoding"]["y2"]["field"] == "high"
    assert means["encoding"]["href"]["field"] == "href"
    assert means["encoding"]["color"]["scale"]["domain"] == ["ia3", "lora"]
    hrefs = {row["href"] for rows in spec["datasets"].values() for row in rows if "href" in row}
    assert "?run=bench/quick/lora-sst2-s0" in hrefs
    linear = charts.compare_chart(points, "a", "b", palette, log_x=False, x_title="", y_title="")
    assert linear.to_dict()["layer"][3]["encoding"]["x"]["scale"] == {"zero": False}
    assert charts.compare_chart([], "a", "b", palette, log_x=True, x_title="", y_title="") is None
