"""`peftctl export --format peft|merged` and every refusal: one line, exit code 2, nothing
written, decided before any model loads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from peftctl.errors import PeftctlError
from peftctl.export.gguf_arch import check_supported
from peftctl.export.gguf_tokenizer import LLAMA3_REGEX, QWEN2_REGEX, pre_tokenizer_name
from peftctl.export.gguf_writer import F32, PendingTensor, write_gguf
from tests.core.test_cli import HEAVY_MODULES, LAZY_PROBE
from tests.training.test_merge_cli import adapted_logits, fake_run


def test_peft_dir_loads_with_peft_and_names_its_base(lora_run, tiny_model_dir, cli, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "peft"
    code, stdout, err = cli("export", str(lora_run), "--format", "peft", "-o", str(out))
    assert code == 0 and "adapter files" in stdout, err
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(Path(tiny_model_dir).resolve())
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), out)
    with torch.no_grad():
        got = model(input_ids=ids).logits
    torch.testing.assert_close(got, adapted_logits(lora_run, tiny_model_dir, ids))


def test_merged_dir_is_what_merge_writes_in_the_chosen_dtype(lora_run, cli, tmp_path):
    from safetensors import safe_open

    out = tmp_path / "merged"
    argv = ["--format", "merged", "--quant", "f16", "-o", str(out)]
    code, _, err = cli("export", str(lora_run), *argv)
    assert code == 0, err
    assert json.loads((out / "merge.json").read_text())["dtype"] == "fp16"
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        assert {weights.get_tensor(k).dtype for k in weights.keys()} == {torch.float16}  # noqa: SIM118


def test_default_output_is_inside_the_run(lora_run, cli):
    code, stdout, err = cli("export", str(lora_run), "--quant", "q8_0", "--overwrite")
    assert code == 0, err
    assert (lora_run / "export" / "model-q8_0.gguf").is_file()
    assert str(lora_run / "export" / "model-q8_0.gguf") in stdout
    umask = os.umask(0)
    os.umask(umask)  # the file is readable like the run's others, not 0600 as mkstemp makes it
    assert (lora_run / "export" / "model-q8_0.gguf").stat().st_mode & 0o777 == 0o666 & ~umask


def lora_run_dir(folder: Path) -> Path:
    """A LoRA run directory whose model does not exist (nothing may load)."""
    run = fake_run(folder, "lora")
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16}
    (run / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    return run


def prompt_run(folder: Path) -> Path:
    run = fake_run(folder, "prompt_tuning")
    config = {"peft_type": "PROMPT_TUNING", "num_virtual_tokens": 4}
    (run / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    return run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--format", "gguf"],
            "method 'prompt_tuning' (prompt-based) cannot be exported as gguf: its adapter is not "
            "a weight update, so it cannot be merged into the model; formats that apply: peft",
        ),
        (["--format", "gguf-lora"], "adapter is PROMPT_TUNING, not LoRA; formats that apply: peft"),
        (["--format", "onnx"], "--format must be one of gguf, gguf-lora, peft, merged, not 'onnx'"),
        (["--format", "peft", "--quant", "f16"], "--quant does not apply to --format peft"),
        (["--format", "peft", "--ollama"], "--ollama needs --format gguf"),
    ],
    ids=["gguf", "gguf-lora", "unknown-format", "quant-for-peft", "ollama-for-peft"],
)
def test_non_mergeable_run_gets_one_line_naming_what_applies(tmp_path, cli, argv, message):
    run = prompt_run(tmp_path / "run")
    code, out, err = cli("export", str(run), *argv)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err
    assert not (run / "export").exists()


def test_a_run_of_a_method_not_built_on_peft_is_not_exported_as_a_peft_dir(tmp_path, cli):
    """peftctl's own adapter/ (``{"method": ...}``) would be an unloadable peft directory."""
    run = fake_run(tmp_path / "run", "freeze")
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({"method": "freeze"}))
    code, out, err = cli("export", str(run), "--format", "peft", "-o", str(tmp_path / "p"))
    assert (code, out) == (2, "")
    assert err == (
        "error: method 'freeze' (baseline) cannot be exported as peft: its adapter/ is not a "
        "peft adapter directory (no peft_type in adapter_config.json); formats that apply: "
        "gguf, merged\n"
    )
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        (
            lora_run_dir,
            ["--quant", "q4_k"],
            "must be one of f16, f32, q8_0, not 'q4_k'",
        ),
        (
            lora_run_dir,
            ["--format", "gguf-lora", "--quant", "q8_0"],
            "must be one of f32, f16",
        ),
        (lambda d: d, [], "is not a run directory (no recipe.yaml)"),
        (
            lambda d: fake_run(d, "lora", adapter=False),
            [],
            "has no adapter/ (the run did not finish)",
        ),
        (
            lora_run_dir,
            ["-o", "{tmp}"],
            "is a directory; pass a file name ending in .gguf",
        ),
        (lora_run_dir, ["-f", "merged", "-o", "{run}/.."], "holds the run"),
    ],
    ids=["quant", "lora-quant", "no-run", "unfinished", "output-dir", "output-holds-run"],
)
def test_user_mistakes_are_one_line(tmp_path, cli, make, argv, message):
    run = make(tmp_path / "run")
    argv = [arg.format(tmp=tmp_path, run=run) for arg in argv]
    code, _, err = cli("export", str(run), *argv)
    assert code == 2 and err.count("\n") == 1 and message in err


def test_existing_output_needs_overwrite(tmp_path, cli):
    run = fake_run(tmp_path / "run", "lora")
    (tmp_path / "m.gguf").write_bytes(b"old")
    code, _, err = cli("export", str(run), "-o", str(tmp_path / "m.gguf"))
    assert code == 2 and "m.gguf exists; pass --overwrite" in err
    assert (tmp_path / "m.gguf").read_bytes() == b"old"


def test_refusal_imports_no_heavy_library(tmp_path):
    argv = ["export", str(prompt_run(tmp_path / "run")), "--format", "gguf"]
    probe = LAZY_PROBE.format(argv=argv, heavy=HEAVY_MODULES)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "cannot be exported as gguf" in result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("model_type", ["gpt2", "gpt_neox", "opt"])
def test_other_families_are_one_line_naming_the_supported_ones(model_type):
    from transformers import AutoConfig

    with pytest.raises(PeftctlError) as refused:
        check_supported(AutoConfig.for_model(model_type))
    assert str(refused.value) == (
        "GGUF export supports llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3; this model is "
        f"'{model_type}': use --format merged (or peft) and convert with llama.cpp's "
        "convert_hf_to_gguf.py"
    )


YARN = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}
# transformers 4.57 wants exactly "type", "short_factor", "long_factor"
_TYPE_KEY = "type" if transformers.__version__.startswith("4.") else "rope_type"
LONGROPE = {_TYPE_KEY: "longrope", "short_factor": [1.0] * 48, "long_factor": [2.0] * 48}


@pytest.mark.parametrize(
    ("model_type", "options", "message"),
    [
        (
            "llama",
            {"attention_bias": True, "rope_scaling": YARN},
            "attention_bias, rope_scaling=yarn",
        ),
        ("mistral", {"hidden_act": "gelu"}, "hidden_act=gelu"),
        ("qwen2", {"use_sliding_window": True}, "use_sliding_window"),
        ("qwen3", {"attention_bias": True}, "attention_bias"),
        ("gemma2", {"tie_word_embeddings": False}, "an untied output head"),
        ("gemma2", {"final_logit_softcapping": None}, "final_logit_softcapping=None"),
        ("gemma2", {"hidden_activation": "gelu"}, "hidden_activation=gelu"),
        ("gemma3_text", {"query_pre_attn_scalar": 64}, "query_pre_attn_scalar=64"),
        (
            "gemma3_text",
            {"layer_types": ["full_attention"] * 2},
            "layer_types other than llama.cpp's (1 full-attention layer in 6)",
        ),
        (
            "gemma3_text",
            {"rope_parameters": {"sliding_attention": {"rope_type": "default", "rope_theta": 5e4}}},
            "sliding-window rope other than default 10000",
        ),
        ("phi3", {"rope_scaling": LONGROPE}, "rope_scaling=longrope"),
    ],
)
def test_what_llama_cpp_runs_differently_is_one_line(model_type, options, message):
    from transformers import AutoConfig

    config = AutoConfig.for_model(model_type, num_hidden_layers=2, **options)
    with pytest.raises(PeftctlError, match=f"GGUF export of {model_type} models does not support"):
        check_supported(config)
    with pytest.raises(PeftctlError, match=re.escape(message)):
        check_supported(config)


@pytest.mark.parametrize("model_type", ["mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"])
def test_default_configs_of_the_families_are_supported(model_type):
    from transformers import AutoConfig, LlamaConfig

    check_supported(AutoConfig.for_model(model_type))
    check_supported(LlamaConfig(rope_scaling={"rope_type": "linear", "factor": 2.0}))


def test_tokenizers_llama_cpp_would_split_differently_are_one_line():
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
    digits = {"type": "Digits", "individual_digits": True}
    bpe = {"model": {"type": "BPE"}, "normalizer": None}
    assert pre_tokenizer_name({**bpe, "pre_tokenizer": byte_level}) == "gpt-2"
    smollm = {"type": "Sequence", "pretokenizers": [digits, byte_level]}
    assert pre_tokenizer_name({**bpe, "pre_tokenizer": smollm}) == "smollm"
    split = {"type": "Split", "pattern": {"Regex": r"\p{N}{1,3}"}, "behavior": "Isolated"}
    other_split = {"type": "Sequence", "pretokenizers": [split, {**byte_level, "use_regex": False}]}
    with pytest.raises(PeftctlError, match="pre-tokenizes with Split \\+ ByteLevel"):
        pre_tokenizer_name({**bpe, "pre_tokenizer": other_split})
    with pytest.raises(PeftctlError, match=r"ignore_merges differs from llama\.cpp's 'gpt-2'"):
        pre_tokenizer_name(
            {**bpe, "model": {"type": "BPE", "ignore_merges": True}, "pre_tokenizer": byte_level}
        )
    with pytest.raises(PeftctlError, match=r"byte-level BPE tokenizers .* Unigram"):
        pre_tokenizer_name({"model": {"type": "Unigram"}, "pre_tokenizer": None})
    with pytest.raises(PeftctlError, match="pre-tokenizes with Metaspace"):
        pre_tokenizer_name({**bpe, "pre_tokenizer": {"type": "Metaspace"}})
    for regex, name in [(LLAMA3_REGEX, "llama-bpe"), (QWEN2_REGEX, "qwen2")]:
        steps = [{**split, "pattern": {"Regex": regex}}, {**byte_level, "use_regex": False}]
        backend = {**bpe, "pre_tokenizer": {"type": "Sequence", "pretokenizers": steps}}
        backend["model"] = {"type": "BPE", "ignore_merges": name == "llama-bpe"}
        assert pre_tokenizer_name(backend) == name
        if name == "qwen2":  # Qwen2's tokenizer normalises to NFC first; llama.cpp does not
            assert pre_tokenizer_name({**backend, "normalizer": {"type": "NFC"}}) == "qwen2"
        else:
            with pytest.raises(
                PeftctlError, match=r"normalises to NFC, llama\.cpp's 'llama-bpe' does not"
            ):
                pre_tokenizer_name({**backend, "normalizer": {"type": "NFC"}})


def test_a_failed_write_leaves_no_file(tmp_path):
    def broken() -> np.ndarray:
        raise RuntimeError("disk full")

    tensors = [
        PendingTensor("a.weight", (2, 2), F32, lambda: np.ones((2, 2))),
        PendingTensor("b.weight", (2, 2), F32, broken),
    ]
    with pytest.raises(RuntimeError, match="disk full"):
        write_gguf(tmp_path / "x.gguf", "llama", lambda writer: None, tensors)
    assert list(tmp_path.iterdir()) == []


def test_missing_gguf_package_names_the_extra(tmp_path, cli, monkeypatch):
    monkeypatch.setattr("peftctl.export.plan.gguf_installed", lambda: False)
    code, _, err = cli("export", str(lora_run_dir(tmp_path / "run")), "--format", "gguf-lora")
    assert code == 2 and "needs the gguf package; run: pip install 'peftctl[export]'" in err


def gpt2_run(folder: Path) -> Path:
    """A LoRA run on a GPT-2 directory holding nothing but ``config.json``: loading its config
    with transformers, its weights or the (empty) adapter file would fail."""
    import yaml

    model_dir = folder / "gpt2"
    model_dir.mkdir(parents=True)
    (model_dir / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    run = lora_run_dir(folder / "run")
    recipe = {"model": {"name": str(model_dir)}, "method": {"name": "lora"}}
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return run


SUPPORTED = "GGUF export supports llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3"


@pytest.mark.parametrize(
    ("fmt", "way_out"),
    [
        (
            "gguf",
            "use --format merged (or peft) and convert with llama.cpp's convert_hf_to_gguf.py",
        ),
        (
            "gguf-lora",
            "use --format peft (or merged) and convert with llama.cpp's convert_lora_to_gguf.py",
        ),
    ],
)
def test_other_family_is_refused_naming_the_formats_that_apply(tmp_path, cli, fmt, way_out):
    run = gpt2_run(tmp_path)
    code, _, err = cli("export", str(run), "--format", fmt)
    assert (code, err) == (2, f"error: {SUPPORTED}; this model is 'gpt2': {way_out}\n")
    assert not (run / "export").exists()


def test_other_family_is_refused_before_anything_heavy_loads(tmp_path):
    argv = ["export", str(gpt2_run(tmp_path)), "--format", "gguf"]
    probe = LAZY_PROBE.format(argv=argv, heavy=HEAVY_MODULES)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert f"{SUPPORTED}; this model is 'gpt2'" in result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


def test_a_sentencepiece_style_tokenizer_is_refused_before_the_weights_load(tmp_path, cli):
    import yaml
    from tokenizers import Tokenizer, models, normalizers, trainers
    from transformers import Gemma2Config, PreTrainedTokenizerFast

    model_dir = tmp_path / "gemma2"  # config and tokenizer, no weights: loading them would fail
    Gemma2Config(num_hidden_layers=2, hidden_size=32, num_attention_heads=4).save_pretrained(
        model_dir
    )
    backend = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    backend.normalizer = normalizers.Replace(" ", "\u2581")  # Gemma's: spaces as "▁"
    backend.train_from_iterator(["a gripping story"] * 4, trainers.BpeTrainer(vocab_size=30))
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>").save_pretrained(model_dir)
    run = lora_run_dir(tmp_path / "run")
    recipe = {"model": {"name": str(model_dir)}, "method": {"name": "lora"}}
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    code, _, err = cli("export", str(run), "-o", str(tmp_path / "m.gguf"))
    assert code == 2 and err.count("\n") == 1, err
    assert "supports byte-level BPE tokenizers" in err and "not SentencePiece-style" in err
    assert not (tmp_path / "m.gguf").exists()


@pytest.mark.parametrize(
    ("damage", "culprit"),
    [("adapter_config.json", "adapter_config.json"), (None, "adapter_model.safetensors")],
)
def test_damaged_adapter_files_are_named(tmp_path, cli, tiny_model_dir, damage, culprit):
    import yaml

    run = lora_run_dir(tmp_path / "run")  # adapter_model.safetensors is empty
    recipe = {"model": {"name": tiny_model_dir}, "method": {"name": "lora"}}
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    if damage:
        (run / "adapter" / damage).write_text('{"peft_type": ')
    code, _, err = cli("export", str(run), "--format", "gguf-lora")
    assert code == 2 and err.count("\n") == 1
    assert f"{culprit} is damaged or truncated" in err
