"""`peftctl eval` end to end on tiny runs: outputs, both modes, several adapters on one base,
`eval.after_train`, scoring against the gold answer, and one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.staged import needs_staged
from tests.training.test_train_cli import tiny_overrides

VERBALIZERS = ["negative", "positive"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def train_tiny(model_dir: str, out: Path, cli, method: str = "lora", *extra: str) -> Path:
    code, _, err = cli(
        "train",
        f"{method}_sst2",
        "--quiet",
        *tiny_overrides(model_dir, out, *extra),
    )
    assert code == 0, err
    return out


def test_after_train_scores_the_run_and_eval_rescores_it_in_rank_mode(
    tiny_model_dir, tmp_path, cli
):
    out = train_tiny(tiny_model_dir, tmp_path / "run", cli, "lora", "eval.after_train=true")
    summary = json.loads((out / "metrics.json").read_text())
    card = json.loads((out / "run.json").read_text())
    assert summary["examples"] == 16 and summary["mode"] == "generate"
    assert set(summary["metrics"]) == {"accuracy", "f1", "pscp"}
    assert card["evaluation"]["metrics"] == summary["metrics"]
    assert summary["trainable_params"] == card["parameters"]["trainable"]
    assert summary["inference_cost"]["flops"] > 0 and summary["examples_per_second"] > 0
    rows = read_jsonl(out / "predictions.jsonl")
    assert len(rows) == 16
    assert set(rows[0]) >= {"id", "prompt", "gold", "output", "prediction", "correct"}
    assert summary["metrics"]["accuracy"] == pytest.approx(sum(r["correct"] for r in rows) / 16)
    assert summary["invalid_rate"] == pytest.approx(sum(r["prediction"] is None for r in rows) / 16)

    code, stdout, err = cli("eval", str(out), "eval.mode=rank", "-o", str(tmp_path / "r"))
    assert code == 0, err
    assert "sst2 eval (rank mode)" in stdout
    ranked = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert ranked["invalid_rate"] == 0 and ranked["mode"] == "rank"
    for row in read_jsonl(tmp_path / "r" / "predictions.jsonl"):
        best = VERBALIZERS[max(range(2), key=row["scores"].__getitem__)]
        assert row["prediction"] == best and row["correct"] == (best == row["gold"])
    assert json.loads((out / "metrics.json").read_text()) == summary  # -o left the run alone


def test_several_adapters_on_one_base_score_as_each_alone(tiny_model_dir, tmp_path, cli):
    # lora and prompt tuning are unloaded from the shared base; freeze changes base weights
    runs = [
        train_tiny(tiny_model_dir, tmp_path / m, cli, m, "train.max_steps=2")
        for m in ("lora", "freeze", "prompt_tuning")
    ]
    common = ["--model", tiny_model_dir, "--dataset", "sst2", "--limit", "6", "--mode", "rank"]
    adapters = [word for r in runs for word in ("--adapter", str(r))]
    code, _, err = cli("eval", *common, *adapters, "-o", str(tmp_path / "all"))
    assert code == 0, err
    for r in runs:
        code, _, err = cli(
            "eval", *common, "--adapter", str(r / "adapter"), "-o", str(tmp_path / "one")
        )
        assert code == 0, err
        together = read_jsonl(tmp_path / "all" / r.name / "predictions.jsonl")
        alone = read_jsonl(tmp_path / "one" / "predictions.jsonl")
        assert [row["id"] for row in together] == [row["id"] for row in alone]
        for a, b in zip(together, alone, strict=True):
            assert a["scores"] == pytest.approx(b["scores"], abs=1e-4), r.name


@needs_staged("svamp")
def test_math_is_scored_against_the_gold_answer(tiny_model_dir, monkeypatch):
    """SVAMP: a prediction equal to the gold number is right, the equation's shape is not."""
    from transformers import AutoTokenizer

    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.loading import dataset_spec, load_split
    from peftctl.evaluation import generation, predict

    cfg = DatasetConfig(name="svamp", max_eval_samples=3)
    examples = load_split(cfg, "test")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    golds = [float(ex.answer) for ex in examples]
    answers = [f"#### {golds[0]:g}", f"( {golds[1]:g} + 0 )", f"#### {golds[2] + 1:g}"]

    def fake_generate(model, prompts, **kwargs):
        assert kwargs["max_new_tokens"] == 512
        return [tokenizer(a, add_special_tokens=False)["input_ids"] for a in answers]

    monkeypatch.setattr(generation, "generate", fake_generate)
    got = predict.predict(
        None, None, tokenizer, examples, dataset_spec(cfg), mode="generate", batch_size=4
    )
    assert [p.correct for p in got] == [True, True, False]
    assert [float(p.gold) for p in got] == golds


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "{tmp}/nothing"], "is not a run directory"),
        (["eval", "{tmp}/unfinished"], "has no adapter/"),
        (["eval"], "nothing to evaluate"),
        (["eval", "--dataset", "sst2", "--adapter", "{tmp}/bare"], "pass --method NAME"),
        (["eval", "--dataset", "sst2", "--adapter", "{tmp}/missing"], "no such directory"),
        (
            ["eval", "--dataset", "gsm8k", "--mode", "rank", "--limit", "2"],
            "use eval.mode=generate",
        ),
        (["eval", "{tmp}/run", "--model", "x"], "drop --model"),
        (["eval", "--dataset", "sst2", "--mode", "vote"], "eval.mode"),
        (["eval", "--dataset", "sst9"], "sst2"),
    ],
)
def test_mistakes_are_one_line_errors(argv, message, tmp_path, cli):
    for name in ("run", "unfinished", "bare"):
        (tmp_path / name).mkdir()
    for name in ("run", "unfinished"):
        (tmp_path / name / "recipe.yaml").write_text("method: {name: lora}\n")
    (tmp_path / "run" / "adapter").mkdir()
    code, _, err = cli(*[word.replace("{tmp}", str(tmp_path)) for word in argv])
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
