"""The bench report: aggregation math, lr selection, ranking, Pareto fronts and the files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from peftctl.bench.aggregate import method_ranking, select_lr, summarise
from peftctl.bench.plots import pareto_front, read_losses
from peftctl.bench.report import latex_escape, results_rows, write_report

T_975_2 = 4.302653  # Student's t, 97.5% quantile, 2 degrees of freedom (from a table)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def record(
    label: str = "lora",
    dataset: str = "sst2",
    seed: int = 0,
    lr: float = 1e-3,
    eval_score: float = 0.8,
    test_score: float | None = None,
    *,
    status: str = "finished",
    run_dir: Path | None = None,
    test_is_eval: bool = False,
    lr_swept: bool = False,
    params: int = 1000,
    error: str | None = None,
) -> dict:
    """A cell's result record as the worker writes it (or a failed cell's identity)."""
    name = f"{label}-{dataset}-s{seed}-lr{lr:g}-abcdef12"
    identity = {
        "id": f"id-{name}",
        "name": name,
        "label": label,
        "method": label.split("-")[0],
        "dataset": dataset,
        "seed": seed,
        "lr": lr,
        "lr_swept": lr_swept,
        "status": status,
    }
    if status != "finished":
        return {**identity, "error": error}
    test = eval_score if test_score is None else test_score

    def split(score: float, name: str) -> dict:
        metrics = {"accuracy": score, "f1": score - 0.01, "pscp": 0.5}
        return {"metrics": metrics, "split": name, "mode": "rank", "examples": 100,
                "invalid_rate": 0.0, "examples_per_second": 50.0}  # fmt: skip

    return {
        **identity,
        "primary_metric": "accuracy",
        "eval": split(eval_score, "eval"),
        "test": split(test, "eval" if test_is_eval else "test"),
        "test_is_eval": test_is_eval,
        "pscp": 0.5,
        "trainable_params": params,
        "total_params": 135_000_000,
        "adapter_bytes": params * 4,
        "peak_rss_bytes": 2_000_000_000,
        "train_peak_rss_bytes": 1_900_000_000,
        "peak_gpu_bytes": None,
        "steps": 3,
        "train_seconds": 10.0,
        "tokens_per_second": 500.0,
        "final_train_loss": 0.5,
        "final_eval_loss": None,
        "inference_flops": 1e9,
        "forgetting": {"increase": 0.02, "base_loss": 3.0, "adapted_loss": 3.02},
        "precision": "fp32",
        "hardware": {"device": "cpu", "threads": 2, "cpu": {"cpu_model": "Xeon", "amx": True}},
        "versions": {"torch": "2.5.0", "transformers": "4.57.6", "peft": "0.17.0"},
        "run_dir": str(run_dir) if run_dir else None,
        "cell_seconds": 30.0,
    }


def with_log(tmp_path: Path, rec: dict) -> dict:
    """``rec`` with a run directory holding a three-step ``log.jsonl`` (and an eval record)."""
    run_dir = tmp_path / "cells" / rec["name"]
    run_dir.mkdir(parents=True)
    lines = [{"step": s, "loss": 2.0 / s, "lr": rec["lr"]} for s in (1, 2, 3)]
    lines.append({"step": 3, "eval_loss": 0.9, "best_eval_loss": 0.9})
    (run_dir / "log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return {**rec, "run_dir": str(run_dir)}


def test_summary_is_mean_sample_std_and_student_t_half_width():
    records = [record(seed=s, test_score=v) for s, v in enumerate([0.8, 0.9, 0.7])]
    [row] = summarise(records)
    assert (row.n, row.seeds) == (3, (0, 1, 2))
    assert row.mean == pytest.approx(0.8)
    assert row.std == pytest.approx(0.1)
    assert row.ci == pytest.approx(T_975_2 * 0.1 / math.sqrt(3), rel=1e-6)
    assert row.trainable_params == 1000 and row.forgetting == pytest.approx(0.02)


def test_one_seed_has_no_spread():
    [row] = summarise([record(test_score=0.7)])
    assert (row.n, row.mean, row.std, row.ci) == (1, pytest.approx(0.7), None, None)


def test_lr_selection_reports_the_test_score_of_the_best_eval_cell():
    records = [
        record(lr=1e-3, eval_score=0.9, test_score=0.6, lr_swept=True),
        record(lr=1e-2, eval_score=0.7, test_score=0.95, lr_swept=True),
    ]
    marked = select_lr(records)
    assert [r["selected"] for r in marked] == [True, False]
    [row] = summarise(records)
    assert row.mean == pytest.approx(0.6)
    assert row.eval_mean == pytest.approx(0.9)
    assert row.lrs == (1e-3,)


def with_modes(rec: dict, generate_eval: float, generate_test: float) -> dict:
    """``rec`` scored in rank (its own scores) and generate mode."""

    def split(score: float, name: str) -> dict:
        return {"metrics": {"accuracy": score}, "split": name, "mode": "generate"}

    scores = {"primary_metric": "accuracy", "pscp": 0.4, "eval": split(generate_eval, "eval"),
              "test": split(generate_test, "test")}  # fmt: skip
    return {**rec, "modes": ["rank", "generate"], "mode_scores": {"generate": scores}}


def test_each_mode_of_a_cell_is_a_column_with_its_own_lr_choice():
    records = [
        with_modes(record(lr=1e-3, eval_score=0.9, test_score=0.85), 0.5, 0.45),
        with_modes(record(lr=1e-2, eval_score=0.7, test_score=0.65), 0.8, 0.75),
        record(label="ia3", dataset="cola", eval_score=0.6),  # one mode: unchanged
    ]
    rows = {row.dataset: row for row in summarise(records)}
    assert set(rows) == {"sst2 (rank)", "sst2 (generate)", "cola"}
    assert rows["sst2 (rank)"].mean == pytest.approx(0.85) and rows["sst2 (rank)"].lrs == (1e-3,)
    generate = rows["sst2 (generate)"]
    assert generate.mean == pytest.approx(0.75) and generate.lrs == (1e-2,)
    assert generate.pscp == pytest.approx(0.4) and generate.train_seconds == 10.0
    assert summarise(select_lr(records)) == summarise(records)  # views are views once


def test_the_count_line_counts_a_cell_scored_in_two_modes_once():
    from peftctl.bench.report import count_line

    records = [with_modes(record(lr=lr), 0.5, 0.5) for lr in (1e-3, 1e-2)]
    records.append({**record(lr=0.1, status="failed"), "modes": ["rank", "generate"]})
    assert count_line(select_lr(records)) == "2 finished, 1 failed, 0 missing of 3 cells."


def test_a_cell_not_yet_scored_in_a_mode_is_a_missing_score_there():
    pending = {**record(), "modes": ["rank", "generate"]}
    rows = {row.dataset: row for row in summarise([pending])}
    assert rows["sst2 (rank)"].n == 1 and rows["sst2 (generate)"].n == 0


def test_lr_tie_goes_to_the_smaller_lr():
    records = [record(lr=3e-3, eval_score=0.8), record(lr=1e-3, eval_score=0.8)]
    assert [r["selected"] for r in select_lr(records)] == [False, True]


def test_unfinished_cell_marks_its_group_incomplete_and_the_finished_still_compete():
    records = [
        record(lr=1e-3, eval_score=0.6),
        record(lr=1e-2, status="failed", error="RuntimeError: out of memory"),
        record(seed=1, lr=1e-3, eval_score=0.7),
    ]
    marked = select_lr(records)
    assert [r["selected"] for r in marked] == [True, False, True]
    assert [r["group_complete"] for r in marked] == [False, False, True]
    [row] = summarise(records)
    assert row.n == 2 and not row.complete


def test_a_row_whose_cells_all_failed_is_kept_empty():
    rows = summarise([record(), record(dataset="boolq", status="failed", error="boom")])
    assert [(r.dataset, r.n, r.mean) for r in rows] == [("sst2", 1, 0.8), ("boolq", 0, None)]


def test_ranking_averages_over_datasets_and_ties_share_the_lower_rank():
    scores = {"a": (0.9, 0.7), "b": (0.7, 0.9), "c": (0.6, 0.6)}
    records = [
        record(label, dataset, test_score=score)
        for label, pair in scores.items()
        for dataset, score in zip(("d1", "d2"), pair, strict=True)
    ]
    records.append(record("d", "d1", test_score=0.95))  # only one dataset
    ranking = {m.label: m for m in method_ranking(summarise(records))}
    # d's average is over one of the two datasets: not comparable, so not ranked
    assert [ranking[x].rank for x in "abcd"] == [1, 1, 3, None]
    assert ranking["a"].average == pytest.approx(0.8)
    assert (ranking["d"].datasets, ranking["a"].datasets) == (1, 2)
    # per dataset: d1 ranks d, a, b, c = 1, 2, 3, 4; d2 ranks b, a, c = 1, 2, 3
    assert [ranking[x].average_rank for x in "abcd"] == [2.0, 2.0, 3.5, 1.0]


@pytest.mark.parametrize(
    ("points", "flags", "front"),
    [
        ([(1, 0.5), (2, 0.7), (3, 0.6), (2, 0.4), (0.5, 0.2)], (True, True), [4, 0, 1]),
        ([(1, 0.5), (2, 0.7), (3, 0.6), (2, 0.4), (0.5, 0.2)], (False, True), [1, 2]),
        ([(1, 0.5), (2, 0.7), (3, 0.6), (2, 0.4), (0.5, 0.2)], (True, False), [4]),
        ([(1, 1.0), (1, 1.0), (2, 1.0)], (True, True), [0, 1]),
        ([], (True, True), []),
    ],
)
def test_pareto_front(points, flags, front):
    assert pareto_front(points, *flags) == front


def test_loss_log_keeps_training_records_only(tmp_path):
    rec = with_log(tmp_path, record())
    assert read_losses(Path(rec["run_dir"])) == [(1, 2.0), (2, 1.0), (3, pytest.approx(2 / 3))]
    assert read_losses(tmp_path / "nowhere") == []


def test_latex_escape():
    assert latex_escape("lora_r16 & 5% #1 {x}") == r"lora\_r16 \& 5\% \#1 \{x\}"


@pytest.fixture
def bench_records(tmp_path) -> list[dict]:
    """lora (two lrs) and ia3 on sst2 (test split = eval split) and boolq, 3 seeds; one failed
    and one missing cell."""
    records = []
    for seed, (good, bad) in enumerate([(0.8, 0.5), (0.9, 0.4), (0.7, 0.6)]):
        for dataset in ("sst2", "boolq"):
            same = dataset == "sst2"
            for lr, score in ((1e-3, good), (1e-2, bad)):
                records.append(
                    record("lora", dataset, seed, lr, score, test_is_eval=same, lr_swept=True)
                )
            ia3 = record("ia3", dataset, seed, 3e-3, 0.75, test_is_eval=same, params=100)
            records.append(ia3 if seed or dataset == "sst2" else {**ia3, "status": "missing"})
    records.append(record("ia3", "sst2", 3, 3e-3, status="failed", error="ValueError: bad batch"))
    return [with_log(tmp_path, r) if r["status"] == "finished" else r for r in records]


def test_write_report_writes_every_file(tmp_path, bench_records):
    written = write_report(tmp_path / "report", bench_records, title="Demo bench")
    names = {
        "results.csv",
        "summary.csv",
        "summary.md",
        "table.tex",
        *(f"plots/{n}.png" for n in ("pareto_params", "pareto_memory", "pareto_time")),
        "plots/bars.png",
        "plots/loss_curves.png",
        "plots/lr_sensitivity.png",  # lora is swept over two lrs
    }
    assert set(written) == names
    assert all(path.is_file() for path in written.values())
    assert not [p for p in (tmp_path / "report").rglob(".*.tmp")]


def test_results_csv_has_a_row_per_cell_with_failures_and_their_error(tmp_path, bench_records):
    written = write_report(tmp_path, bench_records, title="t", plots=False)
    with written["results.csv"].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(bench_records) == len(results_rows(bench_records))
    [failed] = [r for r in rows if r["status"] == "failed"]
    assert failed["error"] == "ValueError: bad batch" and failed["test_primary"] == ""
    assert {"eval_accuracy", "test_f1", "eval_pscp", "torch_version", "cpu"} <= set(rows[0])
    selected = [r for r in rows if r["label"] == "lora" and r["selected"] == "True"]
    assert {r["lr"] for r in selected} == {"0.001"}
    assert rows[0]["cpu"] == "Xeon (+amx)" and rows[0]["forgetting"] == "0.02"


def test_summary_md_shows_mean_and_ci_and_the_notes(tmp_path, bench_records):
    written = write_report(tmp_path, bench_records, title="Demo bench", plots=False)
    text = written["summary.md"].read_text(encoding="utf-8")
    assert text.startswith("# Demo bench\n")
    assert "17 finished, 1 failed, 1 missing of 19 cells." in text
    lora = next(line for line in text.splitlines() if line.startswith("| lora |"))
    assert "80.0 ± 24.8" in lora  # test scores 0.8, 0.9, 0.7 at lr 1e-3
    assert "sst2: the test split is the eval split" in text
    assert "lr selection and the reported score use the same examples" in text
    assert "lora × sst2: lr chosen 0.001 (seed 0), 0.001 (seed 1), 0.001 (seed 2)" in text
    assert "failed: ia3-sst2-s3-lr0.003-abcdef12: ValueError: bad batch" in text
    assert "plots" not in text.lower().split("## notes")[0].split("## costs")[1]


def test_latex_table_bolds_the_best_per_dataset(tmp_path, bench_records):
    written = write_report(tmp_path, bench_records, title="t", plots=False)
    tex = written["table.tex"].read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex
    lora = next(line for line in tex.splitlines() if line.startswith("lora &"))
    ia3 = next(line for line in tex.splitlines() if line.startswith("ia3 &"))
    assert "\\textbf{80.0 $\\pm$ 24.8}" in lora
    assert "\\textbf" not in ia3


def test_plots_are_real_pngs(tmp_path, bench_records):
    import matplotlib.image

    written = write_report(tmp_path, bench_records, title="t")
    for name, path in written.items():
        if name.endswith(".png"):
            assert path.read_bytes().startswith(PNG_MAGIC)
            height, width = matplotlib.image.imread(path).shape[:2]
            assert height > 200 and width > 200, name


def test_without_matplotlib_the_summary_says_how_to_get_plots(tmp_path, monkeypatch):
    from peftctl.bench import plots

    monkeypatch.setattr(plots, "plots_available", lambda: False)
    written = write_report(tmp_path, [record()], title="t")
    assert "plots skipped: pip install 'peftctl[plots]'" in written["summary.md"].read_text()
    assert not (tmp_path / "plots").exists()


def with_deploy(
    rec: dict, merged: float | None, gguf: float | None, mergeable: bool = True
) -> dict:
    """``rec`` with a deployability record (scores on its test split)."""
    deploy = {"mergeable": mergeable, "adapter_bytes": rec["adapter_bytes"], "split": "test",
              "ms_per_token": {"adapter": 12.0, "merged": 10.0 if mergeable else None}}  # fmt: skip
    if mergeable:
        deploy.update(merged_score=merged, gguf_q8_0_score=gguf, gguf_q8_0_bytes=1000)
    return {**rec, "deployability": deploy}


def test_deployability_is_the_measured_seeds_change_and_latency(tmp_path):
    from peftctl.bench.report import write_report

    records = [
        with_deploy(record(seed=0, test_score=0.80), merged=0.80, gguf=0.78),
        record(seed=1, test_score=0.90),  # not measured: only the first seed is
        with_deploy(record("prefix", seed=0, test_score=0.70), None, None, mergeable=False),
        with_modes(with_deploy(record("ia3", seed=0, test_score=0.6), 0.55, 0.5), 0.3, 0.3),
    ]
    rows = {(row.label, row.dataset): row for row in summarise(records)}
    lora = rows["lora", "sst2"]
    assert lora.mergeable is True and lora.mean == pytest.approx(0.85)
    assert lora.merge_delta == pytest.approx(0.0) and lora.gguf_delta == pytest.approx(-0.02)
    assert lora.ms_per_token_adapter == 12.0 and lora.ms_per_token_merged == 10.0
    prefix = rows["prefix", "sst2"]
    assert prefix.mergeable is False and prefix.merge_delta is None
    assert prefix.ms_per_token_merged is None
    assert rows["ia3", "sst2 (rank)"].merge_delta == pytest.approx(-0.05)
    assert rows["ia3", "sst2 (generate)"].merge_delta is None  # measured in the first mode only
    write_report(tmp_path, records, title="t", plots=False)
    with (tmp_path / "summary.csv").open() as handle:
        csv_rows = {(r["label"], r["dataset"]): r for r in csv.DictReader(handle)}
    assert csv_rows["prefix", "sst2"]["mergeable"] == "False"
    assert float(csv_rows["lora", "sst2"]["gguf_delta"]) == pytest.approx(-0.02)
    text = (tmp_path / "summary.md").read_text()
    assert "| lora | yes | 4 KB | +0.0 | -2.0 | 12.0 | 10.0 |" in text, text
    assert "| prefix | no | 4 KB | — | — | 12.0 | — |" in text
    tex = (tmp_path / "table.tex").read_text()
    assert "Method & mergeable & adapter size & $\\Delta$ merged" in tex
    assert "prefix & no & 4 KB & -- & -- & 12.0 & -- \\\\" in tex


def test_without_deployability_there_is_no_such_section(tmp_path):
    from peftctl.bench.report import write_report

    write_report(tmp_path, [record()], title="t", plots=False)
    assert "Deployability" not in (tmp_path / "summary.md").read_text()
    assert "Delta" not in (tmp_path / "table.tex").read_text()


def test_plots_with_45_methods_give_every_method_its_own_colour(tmp_path):
    from matplotlib.colors import to_hex

    from peftctl.bench.plots import _styles
    from peftctl.bench.report import write_report

    labels = [f"method{i:02d}" for i in range(45)]
    styles = _styles(labels)
    assert len({to_hex(colour) for colour, _ in styles.values()}) == 45
    for n in (4, 12):  # the qualitative palettes for fewer
        assert len({to_hex(c) for c, _ in _styles(labels[:n]).values()}) == n
    records = [
        with_log(tmp_path, record(label, dataset, seed, 1e-3, 0.5 + i / 100 + seed / 200))
        for i, label in enumerate(labels)
        for dataset in ("sst2", "cola")
        for seed in (0, 1)
    ]
    written = write_report(tmp_path / "report", records, title="45")
    for name in ("plots/bars.png", "plots/pareto_params.png", "plots/loss_curves.png"):
        assert written[name].read_bytes().startswith(PNG_MAGIC)
