"""`peftctl merge RUN_A RUN_B ... OUT`: LoRA runs combined with peft's add_weighted_adapter,
checked against the delta weights computed here by hand; mistakes are one line before loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.tiny import save_random_adapter

TARGETS = ("q_proj", "v_proj")


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """Random LoRA runs on the tiny model: a and b of rank 4, c of rank 2."""
    root = tmp_path_factory.mktemp("lora-runs")
    shapes = {"a": (0, 4), "b": (1, 4), "c": (2, 2)}
    return {
        name: save_random_adapter(tiny_model_dir, "lora", root / name, seed=seed, r=r)
        for name, (seed, r) in shapes.items()
    }


def lora_factors(run: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """``{module: (A, B, scaling)}`` read from the run's adapter files."""
    config = json.loads((run / "adapter" / "adapter_config.json").read_text())
    weights = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    factors = {}
    for key, a in weights.items():
        if ".lora_A." in key:
            module = key.split(".lora_A.")[0].removeprefix("base_model.model.")
            b = weights[key.replace(".lora_A.", ".lora_B.")]
            factors[module] = (a, b, config["lora_alpha"] / config["r"])
    return factors


def delta(run: Path) -> dict[str, torch.Tensor]:
    """``scaling * B @ A`` per adapted module."""
    return {m: s * b @ a for m, (a, b, s) in lora_factors(run).items()}


def merged_weights(out: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    return dict(AutoModelForCausalLM.from_pretrained(out).named_parameters())


def check_deltas(out: Path, model_dir: str, expected: dict[str, torch.Tensor]) -> None:
    """The merged model's weights are the base's plus ``expected`` and nothing else changed."""
    base, merged = merged_weights(Path(model_dir)), merged_weights(out)
    assert len(expected) == 2 * 2  # two layers x q_proj, v_proj
    for name, weight in merged.items():
        module = name.removesuffix(".weight")
        want = base[name] + expected[module] if module in expected else base[name]
        torch.testing.assert_close(weight, want, atol=1e-5, rtol=0, msg=name)


def test_linear_with_weights_one_zero_is_the_first_runs_merge(cli, runs, tiny_model_dir, tmp_path):
    out = tmp_path / "combined"
    code, stdout, err = cli("merge", str(runs["a"]), str(runs["b"]), str(out), "-w", "1,0")
    assert code == 0, err
    assert "(linear, rank 4)" in stdout
    check_deltas(out, tiny_model_dir, delta(runs["a"]))
    card = json.loads((out / "merge.json").read_text())
    assert card["source_runs"] == [str(runs["a"].resolve()), str(runs["b"].resolve())]
    assert (card["weights"], card["combination"]) == ([1.0, 0.0], "linear")
    code, _, err = cli("merge", str(runs["a"]), str(tmp_path / "single"))
    assert code == 0, err
    single, combined = merged_weights(tmp_path / "single"), merged_weights(out)
    for name, weight in single.items():
        torch.testing.assert_close(combined[name], weight, atol=1e-5, rtol=0)


def test_cat_adds_the_weighted_deltas_of_any_ranks(cli, runs, tiny_model_dir, tmp_path):
    out = tmp_path / "combined"
    code, stdout, err = cli(
        "merge", str(runs["a"]), str(runs["c"]), str(out), "-w", "0.5,0.5", "--combination", "cat"
    )
    assert code == 0, err
    assert "(cat, rank 6)" in stdout
    da, dc = delta(runs["a"]), delta(runs["c"])
    check_deltas(out, tiny_model_dir, {m: 0.5 * da[m] + 0.5 * dc[m] for m in da})


def test_linear_adapter_only_is_peft_s_product_of_weighted_sums(
    cli, runs, tiny_model_dir, tmp_path
):
    """peft's linear combination weights A and B by sqrt(weight * scaling) each, so the update
    is (sum_i c_i B_i)(sum_i c_i A_i), not sum_i w_i delta_i: cross terms included."""
    out = tmp_path / "combined"
    argv = [str(runs["a"]), str(runs["b"]), str(out), "-w", "0.7,0.3", "--adapter-only"]
    code, stdout, err = cli("merge", *argv)
    assert code == 0, err
    assert "adapter (a run directory)" in stdout
    fa, fb = lora_factors(runs["a"]), lora_factors(runs["b"])
    expected = {}
    for module, (a1, b1, s1) in fa.items():
        a2, b2, s2 = fb[module]
        c1, c2 = math.sqrt(0.7 * s1), math.sqrt(0.3 * s2)
        expected[module] = (c1 * b1 + c2 * b2) @ (c1 * a1 + c2 * a2)
    got = delta(out)  # the adapter, as saved: alpha = r, scaling 1
    assert got.keys() == expected.keys()
    for module, value in expected.items():
        torch.testing.assert_close(got[module], value, atol=1e-5, rtol=0)
        sum_of_deltas = 0.7 * delta(runs["a"])[module] + 0.3 * delta(runs["b"])[module]
        assert not torch.allclose(got[module], sum_of_deltas, atol=1e-3)

    code, stdout, err = cli("merge", str(out), str(tmp_path / "merged"))  # a run directory
    assert code == 0, err
    check_deltas(tmp_path / "merged", tiny_model_dir, expected)


def ties_by_hand(tensors: list[torch.Tensor], weights: list[float], density: float):
    """TIES as peft does it: keep each tensor's top ``density`` share by magnitude, elect the
    sign of the (unweighted) sum, average the weighted values that agree with it."""
    kept = []
    for tensor in tensors:
        mask = torch.zeros(tensor.numel())
        mask[tensor.abs().flatten().topk(int(density * tensor.numel())).indices] = 1
        kept.append(tensor * mask.view_as(tensor))
    stacked = torch.stack(kept)
    agree = stacked.sign() == torch.where(stacked.sum(0) >= 0, 1.0, -1.0)
    weighted = stacked * torch.tensor(weights).view(-1, 1, 1)
    return (weighted * agree).sum(0) / agree.sum(0).clamp(min=1)


def test_ties_trims_elects_signs_and_averages_a_and_b(cli, runs, tiny_model_dir, tmp_path):
    out = tmp_path / "combined"
    argv = ["-w", "0.7,0.3", "--combination", "ties", "--density", "0.5"]
    code, _, err = cli("merge", str(runs["a"]), str(runs["b"]), str(out), *argv)
    assert code == 0, err
    fa, fb = lora_factors(runs["a"]), lora_factors(runs["b"])
    expected = {}
    for module, (a1, b1, s1) in fa.items():
        a2, b2, s2 = fb[module]
        a_weights = b_weights = [math.sqrt(0.7 * s1), math.sqrt(0.3 * s2)]
        a = ties_by_hand([a1, a2], a_weights, 0.5)
        b = ties_by_hand([b1, b2], b_weights, 0.5)
        expected[module] = b @ a
    check_deltas(out, tiny_model_dir, expected)


def test_combined_adapter_is_scored_by_eval(cli, runs, tiny_model_dir, tmp_path):
    out = tmp_path / "combined"
    code, _, err = cli("merge", str(runs["a"]), str(runs["b"]), str(out), "--adapter-only")
    assert code == 0, err
    argv = ["--model", tiny_model_dir, "--dataset", "sst2", "--adapter", str(out)]
    code, stdout, err = cli("eval", *argv, "-n", "4", "--mode", "rank", "--json")
    assert code == 0, err
    assert json.loads(stdout)[0]["n"] == 4


def fake_lora_run(folder: Path, model: str, **config) -> Path:
    """A run whose model does not exist: any attempt to load it would fail."""
    import yaml

    method = {"name": config.pop("method", "lora")}
    (folder / "adapter").mkdir(parents=True)
    saved = {"peft_type": "LORA", "r": 8, **config}
    (folder / "adapter" / "adapter_config.json").write_text(json.dumps(saved))
    (folder / "recipe.yaml").write_text(
        yaml.safe_dump({"model": {"name": model}, "method": method})
    )
    return folder


@pytest.mark.parametrize(
    ("second", "options", "message"),
    [
        ({}, ["-w", "1,2,3"], "--weights has 3 values for 2 runs; give one per run"),
        ({}, ["-w", "a,b"], "--weights a,b: give numbers"),
        ({"model": "org/other"}, [], "have different base models (org/base, org/other)"),
        ({"r": 16}, [], "--combination linear needs equal ranks"),
        ({"r": 16}, ["--combination", "ties"], "--combination ties needs equal ranks"),
        ({"use_dora": True, "method": "dora"}, [], "holds a DoRA LoRA adapter (method dora)"),
        ({"peft_type": "IA3", "method": "ia3"}, [], "holds a IA3 adapter (method ia3)"),
        ({}, ["--combination", "svd"], "--combination must be one of linear, ties, cat"),
        ({}, ["--density", "0.3"], "--density applies to --combination ties only"),
    ],
)
def test_runs_that_cannot_combine_are_one_line_before_loading(
    cli, tmp_path, second, options, message
):
    a = fake_lora_run(tmp_path / "a", "org/base")
    b = fake_lora_run(tmp_path / "b", second.pop("model", "org/base"), **second)
    code, out, err = cli("merge", str(a), str(b), str(tmp_path / "out"), *options)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_single_run_refuses_combination_options(cli, tmp_path):
    a = fake_lora_run(tmp_path / "a", "org/base")
    code, _, err = cli("merge", str(a), str(tmp_path / "out"), "--adapter-only")
    assert code == 2 and "give two or more RUN_DIRs" in err
