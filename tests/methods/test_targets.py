"""``target_modules`` means what it means in peft, for every method (one matcher)."""

from __future__ import annotations

import peft
import pytest
from peft.tuners.tuners_utils import check_target_module_exists
from torch import nn

from peftctl.api import Arch, PeftctlError, matches, peft_targets, target_linears
from peftctl.testing import tiny_llama

NAMES = [
    "model.layers.0.self_attn.q_proj",
    "model.layers.1.self_attn.v_proj",
    "model.layers.1.mlp.down_proj",
    "model.layers.10.mlp.gate_proj",
    "q_proj",
    "model.layers.0.self_attn.q_proj_extra",
    "lm_head",
]
TARGETS = [
    ["q_proj"],
    ["q_proj", "down_proj"],
    ["self_attn.q_proj"],
    ["proj"],
    ["layers.1.mlp.down_proj"],
    r".*\.layers\.1\..*_proj",
    r".*q_proj",
    "q_proj",
]


@pytest.mark.parametrize("targets", TARGETS, ids=str)
def test_names_match_exactly_as_in_peft(targets):
    config = peft.LoraConfig(target_modules=targets)
    for name in NAMES:
        assert matches(name, targets) == bool(check_target_module_exists(config, name)), name


def test_all_linear_is_every_linear_but_the_output_head():
    model = tiny_llama()
    found = target_linears(model, ["all-linear"])
    assert len(found) == 2 * 7
    assert "lm_head" not in found and all(isinstance(m, nn.Linear) for m in found.values())
    assert target_linears(model, "all-linear").keys() == found.keys()
    assert peft_targets(["all-linear"]) == "all-linear"
    assert peft_targets(["q_proj"]) == ["q_proj"]


@pytest.mark.parametrize(
    "targets",
    [["q_proj", "v_proj"], ["all-linear"], r".*\.layers\.1\.mlp\..*_proj", ["mlp.up_proj"]],
)
def test_the_layers_found_are_the_ones_peft_adapts(targets):
    """peft's LoRA wraps exactly the layers :func:`target_linears` finds."""
    wanted = set(target_linears(tiny_llama(), targets))
    config = peft.LoraConfig(target_modules=peft_targets(targets), r=2)
    adapted = peft.get_peft_model(tiny_llama(), config).get_base_model()
    wrapped = {n for n, m in adapted.named_modules() if hasattr(m, "lora_A")}
    assert wrapped == wanted


@pytest.mark.parametrize(
    "targets", [["q_proj", "v_proj"], ["all-linear"], r".*\.layers\.1\.mlp\..*", ["o_proj"]]
)
def test_the_torch_free_estimate_sees_the_same_layers(targets):
    model = tiny_llama()
    shapes = Arch.from_hf_config(model.config).targets(targets)
    found = target_linears(model, targets).values()
    assert sorted(shapes) == sorted((m.in_features, m.out_features) for m in found)


def test_an_entry_naming_no_linear_gives_no_estimate_and_a_clear_error():
    arch = Arch.from_hf_config(tiny_llama().config)
    assert arch.targets(["q_proj", "query"]) is None
    assert arch.targets(r"nothing\..*") is None
    with pytest.raises(PeftctlError, match=r"matches no linear layer.*down_proj, gate_proj"):
        target_linears(tiny_llama(), ["query"])
