"""The contract checks that depend on the model family, for every prompt-learning method on
tiny models of other families than Llama (the full contract runs on Llama in test_prompt.py).

What differs between families: where the decoder stack sits (transformers 4.57's
``get_decoder()`` returns GPT-2's, GPT-NeoX's and Falcon's causal LM itself), how positions are
computed (learned absolute ones in GPT-2 and OPT), and how many key/value heads the attention
caches, whatever the config says (``tiny_model`` gives every family Llama's
``num_key_value_heads=2``, which GPT-2, GPT-NeoX and OPT ignore and Falcon's multi-query
attention overrides): a key/value prefix must have the cache's shape. CI samples the
Llama-shaped families (``family_cases``); ``nox -s families`` runs every pair.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import pytest
import torch
import transformers

from peftctl.testing import FULL_MATRIX_ENV, MethodContract, family_cases, tiny_model

FAMILIES = [
    "gpt2",
    "gpt_neox",
    "opt",
    "falcon",
    "phi3",
    "qwen2",
    "gemma2",
    "mistral",
    "qwen3",
    "gemma",
    "gemma3_text",
]
if int(transformers.__version__.split(".")[0]) < 5:
    # what differs on transformers 4: get_decoder() of the families without a `model` stack
    FAMILIES = ["gpt2", "gpt_neox", "opt", "falcon"]
OPTIONS: dict[str, dict[str, Any]] = {
    "prompt_tuning": {"num_virtual_tokens": 4},
    "p_tuning": {"num_virtual_tokens": 4, "encoder_hidden_size": 16},
    "mtp": {"num_virtual_tokens": 4},
    "prefix_tuning": {"num_virtual_tokens": 4, "encoder_hidden_size": 16},
    "p_tuning_v2": {"num_virtual_tokens": 4},
}
CASES = family_cases(list(OPTIONS), FAMILIES)
if int(transformers.__version__.split(".")[0]) < 5 and os.environ.get(FULL_MATRIX_ENV) != "1":
    # CI's oldest session: each method on two of the four families (each family run by two
    # or three methods): the difference is the family's, the same for every method
    CASES = [(f, m) for i, m in enumerate(OPTIONS) for f in FAMILIES[i % 2 :: 2]]
#: family -> config overrides of the tiny model. Gemma 2: heads of width 8 (not 256); its
#: final logit softcap stays (``lm_logits`` applies it).
OVERRIDES: dict[str, dict[str, Any]] = {"gemma2": {"head_dim": 8}}


class TestFamilies(MethodContract):
    """Each test runs for every method on every family: ``[family-method]``."""

    family: ClassVar[str]

    @pytest.fixture(
        autouse=True,
        params=CASES,
        ids=lambda case: "-".join(case),
    )
    def _case(self, request: pytest.FixtureRequest) -> None:
        self.family, self.method_name = request.param
        self.method_options = OPTIONS[self.method_name]

    def base_model(self) -> torch.nn.Module:
        return tiny_model(self.family, seed=0, **OVERRIDES.get(self.family, {}))

    def forward_kwargs(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        if self.method_name != "mtp":
            return {}
        return {"task_ids": torch.zeros(len(batch["input_ids"]), dtype=torch.long)}

    # the same on every family (run on Llama in test_prompt.py); the trainable estimate reads
    # Llama-style config keys, which these tiny configs carry whether their family uses them
    test_trainable_estimate_is_exact = None
    test_loaded_adapter_trains_further = None
    test_merge_matches_or_is_refused = None
    test_inference_cost_runs_the_adapted_model = None
