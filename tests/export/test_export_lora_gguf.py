"""`peftctl export --format gguf-lora`: llama.cpp's adapter GGUF. Applied the way llama.cpp
applies it (W + alpha / rank * B @ A, rank from B's shape) to the base weights in llama.cpp's
layout, it gives the merged GGUF's weights, which transformers' reader checks elsewhere."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from gguf import GGUFReader

from peftctl.errors import PeftctlError
from peftctl.export import gguf_tensors
from peftctl.export.gguf_families import FAMILIES
from peftctl.export.lora_gguf import llamacpp_alpha, lora_pairs
from peftctl.export.plan import lora_problem


def base_weights_llamacpp(model_dir: str) -> dict[str, np.ndarray]:
    """The base model's weights under llama.cpp's names and row order."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    family, layers = FAMILIES["llama"], model.config.num_hidden_layers
    weights = {}
    for hf_name, tensor in model.state_dict().items():
        name = gguf_tensors.gguf_name(hf_name, family, layers)
        weights[name] = gguf_tensors.stored_values(name, tensor.numpy(), family, model.config)
    return weights


def test_adapter_applied_as_llama_cpp_does_gives_the_merged_weights(
    lora_run, tiny_model_dir, cli, tmp_path
):
    adapter, merged = tmp_path / "adapter.gguf", tmp_path / "merged.gguf"
    code, out, err = cli("export", str(lora_run), "--format", "gguf-lora", "-o", str(adapter))
    assert code == 0 and "LoRA A/B of 14 weights" in out, err
    assert cli("export", str(lora_run), "--quant", "f32", "-o", str(merged))[0] == 0

    reader = GGUFReader(adapter)
    meta = {key: field.contents() for key, field in reader.fields.items()}
    assert (meta["general.type"], meta["adapter.type"]) == ("adapter", "lora")
    assert meta["general.architecture"] == "llama" and meta["adapter.lora.alpha"] == 32.0
    lora = {t.name: np.array(t.data) for t in reader.tensors}
    full = {t.name: np.array(t.data) for t in GGUFReader(merged).tensors}
    base = base_weights_llamacpp(tiny_model_dir)
    assert len(lora) == 28 and "blk.1.attn_k.weight.lora_a" in lora
    for name in (n.removesuffix(".lora_a") for n in lora if n.endswith(".lora_a")):
        a, b = lora[f"{name}.lora_a"], lora[f"{name}.lora_b"]
        applied = base[name] + meta["adapter.lora.alpha"] / b.shape[1] * (b @ a)
        np.testing.assert_allclose(applied, full[name], atol=1e-5, err_msg=name)
        assert not np.allclose(base[name], full[name], atol=1e-4), f"{name} did not train"


def test_rank_stabilised_alpha_is_rescaled_for_llama_cpp():
    assert llamacpp_alpha({"r": 16, "lora_alpha": 8}) == 8.0
    assert llamacpp_alpha({"r": 16, "lora_alpha": 8, "use_rslora": True}) == 8.0 * math.sqrt(16)


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"peft_type": "IA3"}, "adapter is IA3, not LoRA"),
        ({"peft_type": "LORA", "use_dora": True}, "DoRA"),
        ({"peft_type": "LORA", "alpha_pattern": {"q_proj": 4}}, "alpha_pattern"),
        ({"peft_type": "LORA", "modules_to_save": ["lm_head"]}, "modules_to_save"),
        ({"peft_type": "LORA", "bias": "all"}, "trains biases"),
    ],
)
def test_adapters_llama_cpp_cannot_apply_are_named(config, reason):
    assert reason in lora_problem(config)
    assert lora_problem({"peft_type": "LORA", "r": 8, "rank_pattern": {"q_proj": 4}}) is None


def test_non_lora_tensor_in_the_adapter_is_one_line():
    keys = ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]
    with pytest.raises(PeftctlError, match="lacks the A or B matrix"):
        lora_pairs(keys)
    with pytest.raises(PeftctlError, match="is not a LoRA A/B matrix"):
        lora_pairs([*keys, "base_model.model.lm_head.weight"])


def test_dora_run_is_refused_with_the_formats_that_apply(tmp_path, cli):
    from tests.training.test_merge_cli import fake_run

    run = fake_run(tmp_path / "run", "dora")
    config = {"peft_type": "LORA", "use_dora": True, "r": 8, "lora_alpha": 16}
    (run / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    code, _, err = cli("export", str(run), "--format", "gguf-lora")
    assert code == 2 and err.count("\n") == 1
    assert "cannot be exported as gguf-lora: DoRA's magnitude vectors" in err
    assert err.rstrip().endswith("formats that apply: gguf, peft, merged")
    assert not (run / "export").exists()


def test_lora_on_the_output_head_is_refused_and_nothing_is_written(tiny_model_dir, tmp_path, cli):
    import torch
    import yaml
    from safetensors.torch import save_file

    from tests.training.test_merge_cli import fake_run

    run = fake_run(tmp_path / "run", "lora")
    recipe = {"model": {"name": tiny_model_dir}, "method": {"name": "lora"}}
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    config = {"peft_type": "LORA", "r": 2, "lora_alpha": 4}
    (run / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    head = "base_model.model.lm_head"
    tensors = {
        f"{head}.lora_A.weight": torch.ones(2, 32),
        f"{head}.lora_B.weight": torch.ones(5, 2),
    }
    save_file(tensors, str(run / "adapter" / "adapter_model.safetensors"))
    code, _, err = cli("export", str(run), "--format", "gguf-lora", "-o", str(tmp_path / "a.gguf"))
    assert code == 2 and "LoRA on 'lm_head.weight' (output.weight) is not supported" in err
    assert not (tmp_path / "a.gguf").exists() and not list(tmp_path.glob(".a.gguf*"))
