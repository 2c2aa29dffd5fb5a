"""`peftctl export --format gguf | gguf-lora` for every supported family: a tiny random model of
each (norms and biases random too, a random LoRA on every linear of the decoder) exported as
f32 GGUF and read back by transformers' GGUF loader gives the merged model's logits; the LoRA
GGUF names the base GGUF's tensors and, applied as llama.cpp applies it, gives the merged
GGUF's weights. One run per family, built without training."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from gguf import GGUFReader

from peftctl.cli import main
from tests.export.conftest import export_model
from tests.export.test_export_gguf import TEXTS, gguf_logits

LINEARS = "q_proj|k_proj|v_proj|qkv_proj|o_proj|gate_proj|up_proj|gate_up_proj|down_proj"
DECODER_LINEARS = rf"model\.(language_model\.)?layers\.\d+\.(self_attn|mlp)\.({LINEARS})"
#: model_type -> (llama.cpp architecture, config overrides of the tiny model). A small sliding
#: window makes Gemma's sliding layers differ from full attention on the 12-token batch. What
#: transformers' GGUF loader does not read back stays at its default (qwen3's head width,
#: Gemma's query_pre_attn_scalar and soft-capping).
FAMILIES = {
    "llama": ("llama", {}),
    "mistral": ("llama", {}),
    "qwen2": ("qwen2", {}),
    "qwen3": ("qwen3", {}),
    "gemma2": ("gemma2", {"sliding_window": 4}),
    "gemma3_text": ("gemma3", {"sliding_window": 4}),
    "gemma3": ("gemma3", {"sliding_window": 4}),  # multimodal: its text model is exported
    "phi3": ("phi3", {}),
}
ALPHA, RANK = 8, 4


@dataclass(frozen=True)
class FamilyRun:
    model_type: str
    arch: str
    merged_logits: torch.Tensor
    model_dir: Path  # the base model and its tokenizer
    model: Path  # merged, f32
    adapter: Path  # gguf-lora
    base: Path  # the base model, f32


def tiny_family_model(model_type: str, vocab_size: int, overrides: dict):
    from transformers import AutoModelForCausalLM, Gemma3Config

    from peftctl.testing import TINY_LLAMA, tiny_model

    if model_type != "gemma3":
        return tiny_model(model_type, 1, vocab_size=vocab_size, initializer_range=0.1, **overrides)
    torch.manual_seed(1)
    text = {**TINY_LLAMA, "vocab_size": vocab_size, "initializer_range": 0.1, **overrides}
    vision = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1}
    vision |= {"num_attention_heads": 2, "image_size": 28, "patch_size": 14}
    config = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=1)
    return AutoModelForCausalLM.from_config(config).eval()


def randomise(model, seed: int, *, lora: bool = False) -> None:
    """Norms and biases random too (a missed bias, a norm stored without Gemma's +1 or under
    another norm's name shows), or (``lora``) the LoRA matrices alone (B starts at zero)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if ("lora_" in name) if lora else param.dim() == 1:
                noise = torch.randn(param.shape, generator=generator)
                param.add_(noise * (0.3 if lora else 0.1))


def save_lora_run(model, tokenizer, folder: Path) -> tuple[Path, torch.Tensor]:
    """The base model and tokenizer in ``folder/model``, a run with a random LoRA adapter in
    ``folder/run``; returns the run and the merged model's logits on :data:`TEXTS`."""
    import peft

    model_dir, run = folder / "model", folder / "run"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    config = peft.LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=DECODER_LINEARS)
    adapted = peft.get_peft_model(model, config)
    randomise(adapted, seed=2, lora=True)
    adapted.save_pretrained(str(run / "adapter"))
    recipe = {"name": "lora", "r": RANK, "alpha": ALPHA, "target_modules": ["all-linear"]}
    recipe_yaml = yaml.safe_dump({"model": {"name": str(model_dir)}, "method": recipe})
    (run / "recipe.yaml").write_text(recipe_yaml)
    with torch.no_grad():
        logits = adapted.merge_and_unload()(input_ids=batch_ids(tokenizer)).logits
    return run, logits


def batch_ids(tokenizer) -> torch.Tensor:
    rows = [tokenizer(text).input_ids[:12] for text in TEXTS]
    return torch.tensor([row + [0] * (12 - len(row)) for row in rows])


def cli_export(run: Path, out: Path, *options: str) -> Path:
    try:
        main(["export", str(run), "-o", str(out), "--overwrite", *options])
    except SystemExit as exc:
        assert exc.code in (0, None), f"export of {run} failed"
    return out


@pytest.fixture(scope="module", params=list(FAMILIES))
def family_run(request, tiny_model_dir, tmp_path_factory) -> FamilyRun:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_type, (arch, overrides) = request.param, FAMILIES[request.param]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    folder = tmp_path_factory.mktemp(model_type)
    model = tiny_family_model(model_type, len(tokenizer), overrides)
    randomise(model, seed=3)
    run, logits = save_lora_run(model, tokenizer, folder)
    merged = cli_export(run, folder / "model.gguf", "--quant", "f32")
    adapter = cli_export(run, folder / "adapter.gguf", "--format", "gguf-lora")
    base_model = AutoModelForCausalLM.from_pretrained(folder / "model")
    base = export_model(run, base_model, tokenizer, folder / "base.gguf")
    return FamilyRun(model_type, arch, logits, folder / "model", merged, adapter, base)


def tensors(path: Path) -> dict[str, np.ndarray]:
    return {t.name: np.array(t.data) for t in GGUFReader(path).tensors}


def metadata(path: Path) -> dict:
    return {key: field.contents() for key, field in GGUFReader(path).fields.items()}


def test_gguf_of_each_family_gives_the_merged_models_logits(family_run, tiny_model_dir):
    from transformers import AutoTokenizer

    ids = batch_ids(AutoTokenizer.from_pretrained(tiny_model_dir))
    got = gguf_logits(family_run.model, ids)
    expected = family_run.merged_logits
    error = float((got - expected).abs().max())
    print(f"{family_run.model_type}: max |logit difference| {error:.2e}")
    assert metadata(family_run.model)["general.architecture"] == family_run.arch
    assert expected.abs().max() > 0.5  # logits large enough for 1e-4 to mean something
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_lora_gguf_of_each_family_adapts_the_base_gguf_tensors(family_run):
    meta, lora = metadata(family_run.adapter), tensors(family_run.adapter)
    assert meta["general.architecture"] == family_run.arch  # llama.cpp requires the base's
    assert (meta["general.type"], meta["adapter.lora.alpha"]) == ("adapter", ALPHA)
    base, merged = tensors(family_run.base), tensors(family_run.model)
    adapted = sorted({name.rsplit(".", 1)[0] for name in lora})
    assert len(lora) == 2 * len(adapted) and set(adapted) <= set(base)
    assert {name.split(".", 2)[2] for name in adapted} >= {"attn_output.weight", "ffn_down.weight"}
    for name in adapted:  # llama.cpp: W + alpha / rank * B @ A, rank from B
        a, b = lora[f"{name}.lora_a"], lora[f"{name}.lora_b"]
        applied = base[name] + ALPHA / b.shape[1] * (b @ a)
        np.testing.assert_allclose(applied, merged[name], atol=1e-5, err_msg=name)
        assert not np.allclose(base[name], merged[name], atol=1e-3), f"{name} is not adapted"


def test_gguf_tokenizer_of_each_family_encodes_as_the_models_own(family_run):
    """transformers 5 rebuilds a tokenizer by its model's family (Qwen2's: its digit-by-digit
    split and NFC); the GGUF names the pre-tokenizer llama.cpp has for it."""
    import transformers
    from transformers import AutoTokenizer

    if family_run.model_type != "llama" and transformers.__version__.startswith("4."):
        pytest.skip("transformers 4.57's GGUF reader rebuilds this family's tokenizer its own way")
    original = AutoTokenizer.from_pretrained(family_run.model_dir)
    read_back = AutoTokenizer.from_pretrained(
        family_run.model.parent, gguf_file=family_run.model.name
    )
    for text in [*TEXTS, "  two  spaces, digits 2024 and émojis 🙂"]:
        expected = original(text, add_special_tokens=False).input_ids
        assert read_back(text, add_special_tokens=False).input_ids == expected, text
    pre = metadata(family_run.model)["tokenizer.ggml.pre"]
    assert pre == ("qwen2" if family_run.model_type == "qwen2" else "gpt-2")
