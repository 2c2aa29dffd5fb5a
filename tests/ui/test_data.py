"""The page's data layer: finding runs and benches, flat rows, filters, Pareto, one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from peftctl.errors import PeftctlError
from peftctl.ui import data


def test_discovers_benches_and_plain_runs_without_repeating_cells(served):
    sources = data.discover([served])
    assert [(s.kind, s.name) for s in sources] == [("bench", "bench/quick"), ("run", "my_run")]
    records = data.load_records([served])
    assert sorted(r["id"] for r in records) == [
        "bench/quick/ia3-sst2-s0",
        "bench/quick/ia3-sst2-s1",
        "bench/quick/lora-sst2-s0",
        "bench/quick/lora-sst2-s1",
        "my_run",
    ]


def test_a_run_directory_itself_can_be_served(served):
    (record,) = data.load_records([served / "my_run"])
    assert record["id"] == "my_run" and record["test"]["metrics"]["accuracy"] == 0.6


def test_rows_are_flat_and_lead_with_the_id(served):
    rows = data.table_rows(data.load_records([served]))
    assert list(rows[0])[:8] == [
        "id",
        "source",
        "label",
        "dataset",
        "seed",
        "lr",
        "status",
        "test_primary",
    ]
    plain = next(r for r in rows if r["id"] == "my_run")
    assert plain["test_primary"] == 0.6 and plain["trainable_params"] == 500
    assert plain["peak_rss_gb"] == 0.5


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", 5),
        ("label=ia3", 2),
        ("label!=ia3", 3),
        ("test_primary>0.75", 2),
        ("test_primary>=0.75 label=ia3", 1),
        ("trainable_params<1000", 3),
        ("id~s1", 2),
        ("ia3", 2),
        ("LORA", 3),
    ],
)
def test_filter_terms(served, query, ids):
    rows = data.table_rows(data.load_records([served]))
    assert len(data.filter_rows(rows, query)) == ids


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("accuracyy>0.5", "unknown column 'accuracyy'"),
        ("test_primary>high", "is not a number"),
    ],
)
def test_filter_mistakes_are_messages_never_code(served, query, message):
    rows = data.table_rows(data.load_records([served]))
    with pytest.raises(PeftctlError, match=message):
        data.filter_rows(rows, query)


def test_filter_is_parsed_never_evaluated(served):
    rows = data.table_rows(data.load_records([served]))
    assert data.filter_rows(rows, "__import__('os').system('false')") == []


def test_pareto_front_follows_each_axis_direction():
    rows = [
        {"id": "a", "trainable_params": 100, "test_primary": 0.7},
        {"id": "b", "trainable_params": 1000, "test_primary": 0.9},
        {"id": "c", "trainable_params": 2000, "test_primary": 0.8},  # beaten by b
        {"id": "d", "trainable_params": 50, "test_primary": 0.6},
    ]
    points = data.pareto_points(rows, "trainable_params", "test_primary")
    front = {p["id"] for p in points if p["pareto"] == "Pareto front"}
    assert front == {"a", "b", "d"}
    # both higher-better: only the best score wins
    flipped = data.pareto_points(rows, "test_primary", "test_primary")
    assert {p["id"] for p in flipped if p["pareto"] == "Pareto front"} == {"b"}


def test_axis_choices_are_numeric_columns(served):
    rows = data.table_rows(data.load_records([served]))
    choices = data.axis_choices(rows)
    assert {"test_primary", "trainable_params", "peak_rss_gb", "pscp"} <= set(choices)
    assert "label" not in choices and "seed" not in choices


def test_run_detail_reads_curves_predictions_and_files(served):
    records = data.load_records([served])
    run = data.resolve_run(records, "bench/quick/lora-sst2-s0", [served])
    points = data.loss_points(run)
    assert [p["series"] for p in points] == ["train", "train", "train", "eval"]
    wrong = ["1", "2", "x16", "x17", "x18", "x19"]  # lora seed 0: 16 of the 20 extra right
    assert [p["id"] for p in data.predictions(run, "wrong")] == wrong
    assert [p["id"] for p in data.predictions(run, "invalid")] == ["2"]
    assert "method" in data.read_text(run, "recipe.yaml")
    assert data.read_text(run, "nothing.txt").startswith("# nothing.txt: not written")


def test_runs_outside_the_served_folders_are_refused(served, tmp_path):
    records = data.load_records([served])
    with pytest.raises(PeftctlError, match=r"no run '\.\./etc'"):
        data.resolve_run(records, "../etc", [served])
    records[0]["run_dir"] = "/etc"  # a record pointing outside: still refused
    with pytest.raises(PeftctlError):
        data.resolve_run(records, records[0]["id"], [served])
    assert Path("/etc").exists()


def test_pareto_fronts_are_per_dataset():
    rows = [
        {"id": "a", "dataset": "sst2", "trainable_params": 100, "test_primary": 0.9},
        {"id": "b", "dataset": "sst2", "trainable_params": 200, "test_primary": 0.8},
        {"id": "c", "dataset": "cola", "trainable_params": 300, "test_primary": 0.4},
    ]
    points = data.pareto_points(rows, "trainable_params", "test_primary")
    assert {p["id"] for p in points if p["pareto"] == "Pareto front"} == {"a", "c"}


def test_verdicts_mark_each_bench_cell_against_its_datasets_best(served):
    from peftctl.bench.paired import mcnemar_exact
    from peftctl.ui import verdicts

    records = data.load_records([served])
    (verdict,) = verdicts.bench_verdicts(records)  # the plain run has no verdict
    assert verdict.source == "bench/quick"
    ia3 = verdict.paired.versus["ia3", "sst2"]
    # 23 paired items a seed; lora right and ia3 wrong on 2 (seed 0) and 3 (seed 1) items
    assert ia3.best == "lora" and ia3.items == 46 and ia3.delta == pytest.approx(-5 / 46)
    assert ia3.distinguishable and ia3.mcnemar_p == pytest.approx(mcnemar_exact(0, 5))
    marks = {r["id"]: verdicts.mark([verdict], r) for r in records}
    assert marks["bench/quick/lora-sst2-s0"] == "best"
    assert marks["bench/quick/ia3-sst2-s1"].startswith("-10.9 [")
    assert marks["my_run"] == ""
    shares = verdicts.p_best_rows([verdict])
    assert [row["method"] for row in shares] == ["lora", "ia3"] and shares[0]["P(best)"] > 0.95
    text = verdicts.verdict_markdown([verdict])
    assert "### bench/quick: against the best" in text and "| lora | +0.0 [+0.0, +0.0] |" in text
    assert "No paired verdicts" in verdicts.verdict_markdown([])


def test_a_bench_served_also_inside_a_served_folder_is_listed_once(served):
    records = data.load_records([served / "bench" / "quick", served])
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 5
    assert {r["source"] for r in records} == {"quick", served.name}  # never "."


def test_method_points_are_means_over_seeds_with_t_intervals_and_fronts_per_bench(served):
    import math

    rows = data.table_rows(data.load_records([served]))
    points = {p["label"] if p["n"] > 1 else p["ids"][0]: p for p in data.method_points(
        rows, "trainable_params", "test_primary")}  # fmt: skip
    lora, ia3, plain = points["lora"], points["ia3"], points["my_run"]
    assert lora["n"] == 2 and math.isclose(lora["y"], 0.85) and lora["values"] == [0.8, 0.9]
    # t(0.975, 1 df) = 12.706; std of (0.8, 0.9) = 0.0707; half-width 12.706 * 0.0707 / sqrt 2
    assert math.isclose(lora["ci"], 12.7062 * 0.070711 / math.sqrt(2), rel_tol=1e-3)
    assert lora["low"] < lora["y"] < lora["high"]
    # within the bench both are on the front (cheaper vs better); the plain run competes alone
    assert lora["front"] and ia3["front"] and plain["front"]
    assert plain["n"] == 1 and plain["ci"] == 0.0 and plain["group"] != lora["group"]
    # an lr a sweep did not keep is no part of the mean
    rows[0]["selected"] = False
    kept = [p for p in data.method_points(rows, "trainable_params", "test_primary")
            if p["label"] == rows[0]["label"] and p["n"] > 1]  # fmt: skip
    assert not kept
