"""Metrics resolved by name through the plugins, the PSCP inputs, and the listing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from peftctl.errors import PeftctlError
from peftctl.evaluation.pscp import InferenceCost, PSCPConstants, pscp
from peftctl.metrics.compute import compute_metrics, metric_notes
from peftctl.plugin_manager import get_plugins

BUILT_IN = {
    "accuracy", "f1", "f1_macro", "mcc", "pearson", "spearman",
    "exact_match", "bleu", "rouge_l", "codebleu", "pscp",
}  # fmt: skip
SST2 = ("negative", "positive")
COST = InferenceCost(flops=10**12, peak_memory_bytes=47 * 10**8, wall_time_s=0.1)


def test_every_built_in_metric_is_registered_and_listed(cli):
    assert {m.name for m in get_plugins().metrics.all()} >= BUILT_IN
    code, out, err = cli("list-metrics", "--json")
    assert code == 0, err
    assert {row["name"] for row in json.loads(out)} >= BUILT_IN


def test_plugin_module_imports_nothing_heavy():
    code = (
        "import sys, peftctl.metrics.plugin as p, peftctl.metrics.compute, "
        "peftctl.metrics.parsing, peftctl.evaluation.pscp; p.peftctl_register_metrics(); "
        "print(sorted(m for m in ('sklearn', 'numpy', 'scipy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compute_metrics_by_name():
    preds, golds = ["positive", "negative", None, "positive"], ["positive"] * 3 + ["negative"]
    scores = compute_metrics(["accuracy", "f1", "mcc"], preds, golds, labels=SST2)
    assert list(scores) == ["accuracy", "f1", "mcc"]
    assert scores["accuracy"] == 0.25
    assert scores["f1"] == pytest.approx(0.4)  # positive: TP 1, FP 1, FN 2 -> 2/5
    assert metric_notes(["accuracy", "f1"], labels=SST2) == {
        "f1": "binary F1, positive label 'positive'"
    }


def test_unknown_metric_is_one_line_with_a_suggestion():
    with pytest.raises(PeftctlError, match="did you mean 'accuracy'"):
        compute_metrics(["accurcy"], ["a"], ["a"])


def test_length_mismatch_is_a_bug():
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        compute_metrics(["accuracy"], ["a", "b"], ["a"])


def test_pscp_uses_the_primary_metric_and_measured_inputs():
    preds, golds = ["positive", "negative"], ["positive", "positive"]
    inputs = {"trainable_params": 5 * 10**6, "inference_cost": COST}
    scores = compute_metrics(["pscp"], preds, golds, labels=SST2, primary="f1", inputs=inputs)
    assert scores["f1"] == pytest.approx(2 / 3)  # computed because pscp needs it
    expected = pscp(2 / 3, trainable_params=5 * 10**6, flops=10**12, memory_bytes=47 * 10**8)
    assert scores["pscp"] == pytest.approx(expected)
    default_primary = compute_metrics(["accuracy", "pscp"], preds, golds, inputs=inputs)
    assert default_primary["pscp"] == pytest.approx(0.5 / (1.01 * 1.1 * 1.05))


def test_pscp_constants_pass_through():
    inputs = {
        "trainable_params": 0,
        "inference_cost": COST,
        "base_inference_cost": InferenceCost(flops=10**12, peak_memory_bytes=0, wall_time_s=0),
        "pscp_constants": PSCPConstants.peft_bench_script(),
    }
    scores = compute_metrics(["accuracy", "pscp"], ["a"], ["a"], inputs=inputs)
    assert scores["pscp"] == pytest.approx(1 / 1.05**2)  # FLOPs above base = 0, beta 2


def test_pscp_without_measurements_is_a_user_error():
    with pytest.raises(PeftctlError, match="needs trainable_params, inference_cost"):
        compute_metrics(["accuracy", "pscp"], ["a"], ["a"])
    with pytest.raises(PeftctlError, match="needs a primary metric"):
        compute_metrics(["pscp"], ["a"], ["a"], inputs={"trainable_params": 0})
