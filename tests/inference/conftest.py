"""A model and adapters for the inference tests. The shared tiny model answers every prompt
with newlines (its weights are a transformer's tiny initialisation); its copy here has larger
random weights, so that prompts and adapters change the answers. Adapters are saved with peft
directly (no training: fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

PEFT_CONFIGS = {
    "lora": lambda peft: peft.LoraConfig(
        task_type="CAUSAL_LM", r=4, target_modules=["q_proj", "v_proj"]
    ),
    "prompt_tuning": lambda peft: peft.PromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4
    ),
    "mtp": lambda peft: peft.MultitaskPromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4, num_tasks=1, num_ranks=1
    ),
}


def save_random_adapter(
    model_dir: str, method: str, folder: Path, *, seed: int = 0, scale: float = 0.5
) -> Path:
    """A run directory (``recipe.yaml`` + ``adapter/``) of ``method`` on ``model_dir`` whose
    trainable weights are random with standard deviation ``scale``."""
    import peft
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = peft.get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir), PEFT_CONFIGS[method](peft)
    )
    with torch.no_grad():
        for _, param in model.named_parameters():
            if param.requires_grad:
                param.copy_(scale * torch.randn_like(param))
    folder.mkdir(parents=True)
    model.save_pretrained(str(folder / "adapter"))
    recipe = {"model": {"name": model_dir}, "method": {"name": method, "num_virtual_tokens": 4}}
    if method == "lora":
        recipe["method"] = {"name": method, "r": 4}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return folder


@pytest.fixture(scope="session")
def model_dir(tiny_model_dir, tmp_path_factory) -> str:
    """The tiny model with its matrices drawn at standard deviation 0.3 (not 0.02)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("lively-model")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    torch.manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim == 2:
                param.normal_(0, 0.3)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def adapter_runs(model_dir, tmp_path_factory) -> dict[str, Path]:
    """One run directory per method of :data:`PEFT_CONFIGS`, on :func:`model_dir`."""
    root = tmp_path_factory.mktemp("adapters")
    return {m: save_random_adapter(model_dir, m, root / m) for m in PEFT_CONFIGS}
