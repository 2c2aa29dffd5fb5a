"""A user's own model of another family, as ``peftctl`` sees it: a tiny random model of each
structurally different family saved with ``save_pretrained`` (the SST-2 tokenizer of
``tiny_model_dir``), trained with the shipped LoRA recipe (roles resolve per family), packed
where the family's attention goes through transformers' attention interface, then scored in
both evaluation modes; ``validate`` names a family's modules before any weight loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peftctl.testing import tiny_model

#: fused qkv (phi3), Conv1D + learned positions (gpt2), fused qkv + partial rotary (gpt_neox),
#: OPT's decoder, Falcon (attention outside the interface: padded)
FAMILIES = {
    "phi3": "shared-prefix",
    "gpt2": "packed",
    "gpt_neox": "shared-prefix",
    "opt": "packed",
    "falcon": "padded",
}  # fmt: skip  (gpt2, opt: dropout 0.1)


def family_dir(root: Path, family: str, tiny_model_dir: str) -> str:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
    model = tiny_model(
        family, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, **ids
    )
    folder = root / f"tiny-{family}"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_family_trains_packed_where_it_can_and_scores_in_both_modes(
    family, tiny_model_dir, cli, tmp_path
):
    model, out = family_dir(tmp_path, family, tiny_model_dir), tmp_path / "run"
    args = [f"model.name={model}", f"output_dir={out}", "dataset.max_train_samples=16",
            "dataset.max_eval_samples=8", "dataset.cutoff_len=48", "train.batch_size=4",
            "train.max_steps=2", "eval.after_train=false"]  # fmt: skip
    code, _, err = cli("train", "lora_sst2", *args, "--quiet")
    assert code == 0, err
    card = json.loads((out / "run.json").read_text())
    assert card["training"]["batching"] == FAMILIES[family], card["training"]
    for mode in ("rank", "generate"):
        where = str(tmp_path / mode)
        code, _, err = cli(
            "eval", str(out), f"eval.mode={mode}", "eval.max_new_tokens=4", "-o", where
        )
        assert code == 0, err
        assert json.loads((tmp_path / mode / "metrics.json").read_text())["metrics"]


def test_validate_names_a_familys_modules_and_roles_it_lacks(tiny_model_dir, cli, tmp_path):
    model = family_dir(tmp_path, "gpt2", tiny_model_dir)
    code, _, err = cli(
        "validate", "lora_sst2", f"model.name={model}", "method.target_modules=[q_proj]"
    )
    assert code == 2 and err.count("\n") == 1
    assert "'q_proj' names no module of" in err and "its modules are c_attn, attn.c_proj" in err
    code, _, err = cli(
        "validate", "lora_sst2", f"model.name={model}", "method.target_modules=[role:gate]"
    )
    assert code == 2 and "role:gate: gpt2 has no gate projection" in err
    assert cli("validate", "lora_sst2", f"model.name={model}")[0] == 0  # role:query, role:value


def test_validate_reads_a_hub_models_config_from_the_cache(tmp_path):
    """A hub id already downloaded: its config.json in the Hugging Face cache is enough."""
    import os
    import subprocess
    import sys

    snapshot = tmp_path / "hub" / "models--org--tiny-neox" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(
        json.dumps({"model_type": "gpt_neox", "num_hidden_layers": 2})
    )
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc123")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    args = ["validate", "lora_sst2", "model.name=org/tiny-neox", "method.target_modules=[c_attn]"]
    done = subprocess.run(
        [sys.executable, "-m", "peftctl", *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2, done.stderr
    assert (
        "'c_attn' names no module of org/tiny-neox (gpt_neox); its modules are query_key_value"
        in done.stderr
    )
