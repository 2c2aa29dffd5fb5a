"""Paired comparisons against the best method (bootstrap interval, McNemar's exact test) and
the probability of being best, checked against values computed by hand, then in a report."""

from __future__ import annotations

import csv
import importlib.util
import json

import numpy as np
import pytest

from peftctl.bench.paired import best_shares, bootstrap_scores, mcnemar_exact, versus_best
from peftctl.bench.report import write_report
from tests.bench.test_report import record


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (1, 5, 2 * (1 + 6) / 2**6),  # 2 * P(X <= 1), X ~ Binomial(6, 1/2)
        (0, 10, 2 / 2**10),
        (3, 3, 1.0),  # 2 * P(X <= 3) > 1: capped
        (0, 0, 1.0),  # no discordant pair
        (7, 2, 2 * (1 + 9 + 36) / 2**9),
    ],
)
def test_mcnemar_exact_is_the_two_sided_binomial_tail(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p)
    assert mcnemar_exact(c, b) == pytest.approx(p)  # symmetric


def test_the_paired_bootstrap_interval_resamples_items_within_each_seed():
    best = {0: np.array([1.0, 1, 1, 1, 0]), 1: np.array([1.0, 0, 1])}
    other = {0: np.array([1.0, 0, 1, 1, 0]), 1: np.array([0.0, 0, 1])}
    matrix = {seed: {"best": best[seed], "other": other[seed]} for seed in best}
    got = versus_best(matrix, "other", "best", np.random.default_rng(7), resamples=500)
    # by hand: differences [0, -1, 0, 0, 0] and [-1, 0, 0]; 2 of 8 items lost, none won
    assert got.delta == pytest.approx(-2 / 8) and got.items == 8
    assert got.mcnemar_p == pytest.approx(2 * 1 / 2**2)
    rng = np.random.default_rng(7)
    totals = np.zeros(500)
    for seed in (0, 1):  # the same draws, one replicate at a time
        diff = other[seed] - best[seed]
        picks = rng.integers(0, len(diff), size=(500, len(diff)))
        totals += np.array([sum(diff[i] for i in row) for row in picks])
    low, high = np.percentile(totals / 8, [2.5, 97.5])
    assert (got.low, got.high) == pytest.approx((low, high))
    assert got.low < 0 <= got.high and not got.distinguishable


def test_a_clear_loser_is_distinguishable_and_the_best_against_itself_is_not():
    best = np.array([1.0] * 40)
    worse = np.array([1.0] * 10 + [0.0] * 30)
    matrix = {0: {"best": best, "worse": worse}}
    rng = np.random.default_rng(0)
    lost = versus_best(matrix, "worse", "best", rng)
    assert lost.distinguishable and lost.high < 0 and lost.mcnemar_p == pytest.approx(2 / 2**30)
    itself = versus_best(matrix, "best", "best", rng)
    assert (itself.delta, itself.low, itself.high, itself.mcnemar_p) == (0, 0, 0, 1.0)


def test_probability_of_being_best_in_constructed_cases():
    always = {0: {"a": np.ones(20), "b": np.zeros(20)}}
    shares = best_shares(bootstrap_scores(always, np.random.default_rng(0), 300))
    assert shares == {"a": 1.0, "b": 0.0}
    twins = {0: {"a": np.array([1.0, 0, 1, 0]), "b": np.array([1.0, 0, 1, 0])}}
    shares = best_shares(bootstrap_scores(twins, np.random.default_rng(0), 300))
    assert shares == {"a": 0.5, "b": 0.5}  # identical on every draw: ties split
    # a wins item 0, b item 1, both the rest: over resamples each is best as often
    split = {0: {"a": np.array([1.0, 0] + [1] * 8), "b": np.array([0.0, 1] + [1] * 8)}}
    shares = best_shares(bootstrap_scores(split, np.random.default_rng(0), 4000))
    assert shares["a"] == pytest.approx(0.5, abs=0.02) and sum(shares.values()) == 1


def _cell(tmp_path, label, seed, correct):
    run = tmp_path / f"{label}-{seed}"
    run.mkdir()
    lines = [json.dumps({"id": f"q{i}", "correct": bool(c)}) for i, c in enumerate(correct)]
    (run / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    score = sum(correct) / len(correct)
    return record(label, seed=seed, eval_score=score, test_score=score, run_dir=run,
                  test_is_eval=True)  # fmt: skip


def test_the_report_marks_methods_not_distinguishable_from_the_best(tmp_path):
    items = 60
    records = []
    for seed in (0, 1):
        records.append(_cell(tmp_path, "lora", seed, [1] * 50 + [0] * 10))
        records.append(_cell(tmp_path, "ia3", seed, [1] * 49 + [0] * 11))  # one item apart
        records.append(_cell(tmp_path, "bitfit", seed, [1] * 20 + [0] * 40))
    write_report(tmp_path / "out", records, title="paired", plots=False)
    with (tmp_path / "out" / "summary.csv").open() as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    assert float(rows["lora"]["vs_best"]) == 0 and float(rows["lora"]["mcnemar_p"]) == 1
    assert float(rows["ia3"]["vs_best"]) == pytest.approx(-1 / items)
    assert float(rows["ia3"]["vs_best_low"]) < 0 <= float(rows["ia3"]["vs_best_high"])
    assert float(rows["bitfit"]["vs_best_high"]) < 0
    assert float(rows["bitfit"]["mcnemar_p"]) == pytest.approx(2 / 2**60)  # 30 per seed
    p_best = {label: float(row["p_best"]) for label, row in rows.items()}
    assert p_best["bitfit"] == 0 and p_best["lora"] > p_best["ia3"] > 0
    assert sum(p_best.values()) == pytest.approx(1)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Against the best" in summary and "(120 paired items)" in summary
    assert "| ia3 |" in summary and " ≈ |" in summary  # the ia3 score is marked
    assert "rank (P best)" in summary
    assert "$\\approx$" in (tmp_path / "out" / "table.tex").read_text()


def test_lr_sensitivity_is_the_spread_and_margin_of_the_mean_eval_score(tmp_path):
    from peftctl.bench.aggregate import lr_sweeps

    tried = [(0, 1e-3, 0.70), (1, 1e-3, 0.72), (0, 3e-3, 0.80), (1, 3e-3, 0.78)]
    tried += [(0, 1e-2, 0.60), (1, 1e-2, 0.64)]
    records = [record("ia3", seed=s, lr=lr, eval_score=e, lr_swept=True) for s, lr, e in tried]
    records += [record("lora", seed=0), record("lora", seed=1)]
    sweeps = lr_sweeps(records)
    assert list(sweeps) == [("ia3", "sst2")]  # lora: one lr
    ia3 = sweeps["ia3", "sst2"]
    assert [lr for lr, _ in ia3.points] == [1e-3, 3e-3, 1e-2]
    assert [score for _, score in ia3.points] == pytest.approx([0.71, 0.79, 0.62])
    assert ia3.spread == pytest.approx(0.17) and ia3.margin == pytest.approx(0.08)
    write_report(tmp_path / "out", records, title="lrs", plots=True)
    with (tmp_path / "out" / "summary.csv").open() as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    assert float(rows["ia3"]["lr_spread"]) == pytest.approx(0.17)
    assert (
        float(rows["ia3"]["lr_margin"]) == pytest.approx(0.08) and rows["lora"]["lr_spread"] == ""
    )
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Learning-rate sensitivity" in summary
    assert "| ia3 | sst2 | 0.001: 71.0, 0.003: 79.0, 0.01: 62.0 | 17.0 | 8.0 |" in summary
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "out" / "plots" / "lr_sensitivity.png").stat().st_size > 0
