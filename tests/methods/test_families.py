"""Every standard method on every family peftctl has a role table for (tiny random models built
from each family's transformers config): a training step changes only trainable parameters,
a save/load round trip gives the same logits, and a merge matches the adapted model (or is
refused in one line). CI samples the Llama-shaped families (``family_cases``); ``nox -s
families`` runs every pair. The prompt-based methods' family matrix is in peftctl-prompt's
tests; packing per family in tests/training/test_batching_and_loss.py."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import pytest

from peftctl.config.recipe import method_config_class
from peftctl.errors import PeftctlError
from peftctl.facts.families import FAMILIES
from peftctl.plugin_manager import get_plugins
from peftctl.testing import MethodContract, family_cases, tiny_model

#: options that fit the tiny shapes (hidden 32), as each package's own contract test sets them
OPTIONS: dict[str, dict[str, Any]] = {
    "adalora": {"total_step": 10, "tinit": 0, "tfinal": 2},
    "vera": {"r": 16},
    "galore": {"rank": 4, "update_proj_gap": 2},
    "qlora": {"r": 4},
    "freeze": {"trainable_layers": 1},
}
PROMPT_BASED = {"prompt_tuning", "p_tuning", "mtp", "prefix_tuning", "p_tuning_v2"}
#: family -> config overrides beyond the tiny shapes
SHAPES: dict[str, dict[str, Any]] = {
    "gemma2": {"head_dim": 8},
    "gemma3_text": {"head_dim": 8},
    "qwen3": {"head_dim": 8},
    "mistral": {"head_dim": 8},
}
METHODS = sorted(set(get_plugins().methods.names()) - PROMPT_BASED)
#: (method, family) -> the one-line refusal: GPT-2's Conv1D layers (weight stored transposed)
REFUSED = {
    ("oft", "gpt2"): "oft cannot adapt this gpt2 model's target layers",
    ("svft", "gpt2"): "svft adapts nn.Linear layers",
    ("qlora", "gpt2"): "qlora found no linear layers to quantise",
    ("loha", "gpt2"): "loha cannot adapt this gpt2 model's target layers",
    ("lokr", "gpt2"): "lokr cannot adapt this gpt2 model's target layers",
    ("boft", "gpt2"): "boft cannot adapt this gpt2 model's target layers",
    ("hra", "gpt2"): "hra cannot adapt this gpt2 model's target layers",
    ("miss", "gpt2"): "miss cannot adapt this gpt2 model's target layers",
    ("shira", "gpt2"): "shira cannot adapt this gpt2 model's target layers",
    ("c3a", "gpt2"): "c3a cannot adapt this gpt2 model's target layers",
    ("road", "gpt2"): "road cannot adapt this gpt2 model's target layers",
    ("delora", "gpt2"): "delora cannot adapt this gpt2 model's target layers",
    ("osf", "gpt2"): "osf cannot adapt this gpt2 model's target layers",
    ("paca", "gpt2"): "paca cannot adapt this gpt2 model's target layers",
    ("glora", "gpt2"): "glora cannot adapt this gpt2 model's target layers",
    ("glora", "falcon"): "glora cannot adapt this falcon model's target layers",
    ("psoft", "gpt2"): "psoft cannot adapt this gpt2 model's target layers",
    ("beft", "gpt2"): "beft cannot adapt this gpt2 model's target layers",
    ("adamss", "gpt2"): "adamss cannot adapt this gpt2 model's target layers",
    ("peanut", "gpt2"): "peanut cannot adapt this gpt2 model's target layers",
    ("supertuning", "gpt2"): "supertuning cannot adapt this gpt2 model's target layers",
}
#: qlora's per-family part is which decoder linears it quantises: the same code for every
#: nn.Linear family, and bitsandbytes on CPU takes seconds per model; these cover fused,
#: separate and GPT-NeoX-style projections
QLORA_FAMILIES = {"phi3", "gpt_neox", "qwen2", "gpt2"}
CASES = [
    (method, family)
    for family, method in family_cases(METHODS, sorted(set(FAMILIES) - {"llama"}))
    if method != "qlora" or family in QLORA_FAMILIES
]  # llama: each package's own tests


def tiny_options(method: str) -> dict[str, Any]:
    """OPTIONS' entry, else a scaffolded package's ``TEST_OPTIONS`` (beside its config class:
    what its own contract test sets), else none."""
    if method in OPTIONS:
        return OPTIONS[method]
    module = sys.modules[method_config_class(method).__module__]
    return dict(getattr(module, "TEST_OPTIONS", {}))


def refused(method: str, family: str) -> str | None:
    """The one-line refusal expected: REFUSED's, or the start of it for a family outside a
    package's ``FAMILIES`` (beside its config class: the families its library adapts)."""
    if (method, family) in REFUSED:
        return REFUSED[method, family]
    families = getattr(sys.modules[method_config_class(method).__module__], "FAMILIES", None)
    return f"{method} adapts " if families is not None and family not in families else None


def contract(family: str, method: str) -> MethodContract:
    class OnFamily(MethodContract):
        method_name = method
        method_options: ClassVar[dict[str, Any]] = tiny_options(method)
        lr = 1e-3 if method in ("full", "freeze") else 1e-2

        def base_model(self):
            return tiny_model(family, seed=0, **SHAPES.get(family, {}))

    return OnFamily()


@pytest.mark.parametrize(("method", "family"), CASES)
def test_a_method_trains_saves_loads_and_merges_on_a_family(method, family, tmp_path):
    check = contract(family, method)
    refusal = refused(method, family)
    if refusal is not None:
        with pytest.raises(PeftctlError, match=refusal):
            check.applied()
        return
    check.test_step_changes_only_trainable_parameters()
    check.test_save_load_round_trip_gives_identical_logits(tmp_path)
    check.test_merge_matches_or_is_refused()


def test_the_sampled_matrix_runs_every_family_and_method(monkeypatch):
    families = sorted(set(FAMILIES) - {"llama"})
    cases = family_cases(METHODS, families)
    assert {f for f, _ in cases} == set(families) and {m for _, m in cases} == set(METHODS)
    for method in METHODS:  # each method: every non-Llama layout, two Llama-shaped families
        own = {f for f, m in cases if m == method}
        assert len(own - {"mistral", "qwen3", "gemma", "gemma2", "gemma3_text"}) == 6, own
        assert len(own) == 8, own
    assert family_cases(["a", "b"], ["gpt2", "opt"]) == [  # no Llama-shaped family (oldest)
        ("gpt2", "a"), ("opt", "a"), ("gpt2", "b"), ("opt", "b")
    ]  # fmt: skip
    monkeypatch.setenv("PEFTCTL_FULL_MATRIX", "1")
    assert len(family_cases(METHODS, families)) == len(METHODS) * len(families)
