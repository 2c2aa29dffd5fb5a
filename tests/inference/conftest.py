"""A model and adapters for the inference tests. The shared tiny model answers every prompt
with newlines (its weights are a transformer's tiny initialisation); its copy here has larger
random weights, so that prompts and adapters change the answers. Adapters are saved with peft
directly (no training: fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.tiny import PEFT_CONFIGS, save_random_adapter


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
