"""Trainable-parameter estimates (``list-methods``) equal what each method really trains on
the default model's architecture, built from its shapes alone (no download, no weights)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from peftctl import typed
from peftctl.config.recipe import method_config_class
from peftctl.facts.arch import DEFAULT_ARCH, Arch
from peftctl.plugin_manager import get_plugins
from peftctl.standard_packages import STANDARD

#: Need real weights: PiSSA takes an SVD; on the meta device AdaLoRA's rank counter turns
#: trainable; P-tuning v2 starts from the model's own keys/values. They run on the default
#: widths with 2 layers and a small vocabulary.
REAL_WEIGHTS = {"pissa", "olora", "adalora", "p_tuning_v2"}
#: PiSSA's count does not depend on its init; the exact SVD is slow on a busy CPU.
FAST_OPTIONS: dict[str, dict[str, Any]] = {"pissa": {"init": "pissa_niter_2"}}

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("lora", {"r": 4, "target_modules": ["all-linear"]}),
    ("dora", {"target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}),
    ("adalora", {"init_r": 6, "r": 4, "target_modules": ["k_proj", "down_proj"]}),
    ("vera", {"r": 32, "target_modules": ["q_proj", "k_proj", "up_proj"]}),
    ("oft", {"target_modules": ["all-linear"]}),
    ("oft", {"block_share": True, "block_size": 16}),
    ("ia3", {"target_modules": ["q_proj", "up_proj"], "feedforward_modules": ["up_proj"]}),
    ("lntuning", {"target_modules": ["input_layernorm"]}),
    ("p_tuning", {"encoder": "LSTM", "encoder_hidden_size": 64, "num_virtual_tokens": 5}),
    ("mtp", {"num_tasks": 3, "num_ranks": 2}),
    ("prefix_tuning", {"num_virtual_tokens": 8, "encoder_hidden_size": 128}),
    ("p_tuning_v2", {"num_virtual_tokens": 4}),
    ("freeze", {"trainable_layers": 5}),
]


def standard_methods() -> list[str]:
    """The core's methods and those of the standard method packages (``pip install peftctl``)."""
    get_plugins.cache_clear()
    packages = {"peftctl", *STANDARD}
    return [spec.name for spec in get_plugins().methods.all() if spec.package in packages]


def test_every_standard_method_is_covered():
    packaged = {method for methods in STANDARD.values() for method in methods}
    assert set(standard_methods()) == {"full", "freeze", *packaged}


def hf_config(arch: Arch) -> LlamaConfig:
    return LlamaConfig(
        num_hidden_layers=arch.num_layers,
        hidden_size=arch.hidden_size,
        intermediate_size=arch.intermediate_size,
        num_attention_heads=arch.num_heads,
        num_key_value_heads=arch.num_kv_heads,
        vocab_size=arch.vocab_size,
        head_dim=arch.head_width,
        tie_word_embeddings=arch.tie_word_embeddings,
    )


def real_count(name: str, options: dict[str, Any]) -> tuple[int, int | None]:
    """(parameters ``name`` trains, its estimate) on the default architecture."""
    arch = DEFAULT_ARCH
    data = {"name": name, **FAST_OPTIONS.get(name, {}), **options}
    config = typed.build(method_config_class(name), data, "method")
    if name in REAL_WEIGHTS:
        arch = dataclasses.replace(arch, num_layers=2, vocab_size=1024)
        torch.manual_seed(0)
        model = LlamaForCausalLM(hf_config(arch))
    else:
        with torch.device("meta"):
            model = LlamaForCausalLM(hf_config(arch))
    method = get_plugins().methods.get(name).load()(config)
    model = method.apply(model)
    trained = sum(p.numel() for _, p in method.trainable_parameters(model))
    return trained, config.trainable_estimate(arch)


@pytest.mark.parametrize("name", standard_methods())
def test_default_options_estimate_is_exact(name: str) -> None:
    trained, estimate = real_count(name, {})
    assert estimate == trained


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=[f"{n}-{o}" for n, o in VARIANTS])
def test_other_options_estimate_is_exact(name: str, options: dict[str, Any]) -> None:
    trained, estimate = real_count(name, options)
    assert estimate == trained


def test_default_arch_is_smollm2_135m() -> None:
    assert DEFAULT_ARCH.total_params() == 134_515_008  # SmolLM2-135M, tied embeddings
    assert Arch.from_hf_config(hf_config(DEFAULT_ARCH)) == DEFAULT_ARCH


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("lora", {"target_modules": ["c_attn"]}),
        ("ia3", {"target_modules": ["c_attn"], "feedforward_modules": []}),
        ("lntuning", {"target_modules": ["ln_f"]}),
        ("oft", {"block_size": 7}),
        ("freeze", {"trainable_layers": 31}),
    ],
)
def test_options_the_arch_cannot_take_have_no_estimate(name: str, options: dict) -> None:
    config = typed.build(method_config_class(name), {"name": name, **options}, "method")
    assert config.trainable_estimate(DEFAULT_ARCH) is None


@pytest.mark.slow
def test_default_arch_matches_the_default_model() -> None:
    from transformers import AutoConfig

    from peftctl.facts.names import DEFAULT_MODEL
    from peftctl.models.loading import model_source

    config = AutoConfig.from_pretrained(model_source(DEFAULT_MODEL))
    assert Arch.from_hf_config(config) == DEFAULT_ARCH


PLUGIN = """
from peftctl import hookimpl
from peftctl.specs import MethodSpec

@hookimpl
def peftctl_register_methods():
    return [
        MethodSpec(name="noconf", summary="", category="additive", impl="nowhere:X"),
        MethodSpec(name="broken", summary="", category="additive", impl="nowhere:X",
                   config="estimate_mod:Broken"),
    ]
"""
BROKEN = """
from dataclasses import dataclass
from peftctl.methods.base import MethodConfig

@dataclass(kw_only=True)
class Broken(MethodConfig):
    def trainable_estimate(self, arch):
        raise ZeroDivisionError
"""


def test_list_methods_shows_the_estimates(make_plugin_dist, cli):
    import json

    files = {"estimate_plugin.py": PLUGIN, "estimate_mod.py": BROKEN}
    make_plugin_dist("peftctl-est", "0.1", {"est": "estimate_plugin"}, files)
    rows = {m["name"]: m["trainable"] for m in json.loads(cli("list-methods", "--json")[1])}
    assert rows["lora"] == 460_800 and rows["full"] == DEFAULT_ARCH.total_params()
    assert all(isinstance(rows[name], int) for name in standard_methods())
    assert rows["noconf"] is None and rows["broken"] is None  # listed, without a figure
    table = cli("list-methods", "--category", "additive")[1]
    cells = {
        line.split("│")[1].strip(): line.split("│")[3].strip()
        for line in table.splitlines()
        if line.startswith("│ ") and line.split("│")[1].strip()
    }
    assert cells["ia3"] == "57.6K" and cells["noconf"] == cells["broken"] == "-"
