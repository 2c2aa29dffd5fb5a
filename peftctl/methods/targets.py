"""The linear layers of a model that a recipe's ``target_modules`` names (the name rules are
:mod:`peftctl.facts.targets`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peftctl.errors import PeftctlError
from peftctl.facts.targets import (
    Targets,
    is_all_linear,
    is_peft_default,
    matches,
    resolve_targets,
)

if TYPE_CHECKING:
    from torch import nn


def target_linears(model: nn.Module, targets: Targets) -> dict[str, nn.Module]:
    """``{name: layer}`` of the causal LM's linear layers (``nn.Linear``, and GPT-2's
    ``Conv1D``, whose weight is stored transposed) named by ``targets`` (roles resolved for the
    model's family), never the output head; raises :class:`PeftctlError` listing the model's
    linears when none match."""
    from peftctl.methods.base import causal_lm

    lm = causal_lm(model)
    if is_peft_default(targets):
        raise PeftctlError(
            "method.target_modules=default is peft's choice for peft-backed methods; name the "
            "modules, roles (role:query) or all-linear"
        )
    linears = model_linears(lm)
    if is_all_linear(targets):
        return linears
    wanted = resolve_targets(targets, getattr(lm.config, "model_type", None))
    found = {name: module for name, module in linears.items() if matches(name, wanted)}
    if not found:
        raise PeftctlError(no_match(targets, lm))
    return found


def model_linears(lm: nn.Module) -> dict[str, nn.Module]:
    """``{name: layer}`` of every linear layer of causal LM ``lm`` but its output head."""
    from torch import nn
    from transformers.pytorch_utils import Conv1D

    head = lm.get_output_embeddings()
    return {
        name: module
        for name, module in lm.named_modules()
        if isinstance(module, (nn.Linear, Conv1D)) and module is not head
    }


def no_match(targets: Targets, lm: nn.Module) -> str:
    """The one-line error for ``targets`` naming no linear of ``lm``: what its linears are."""
    names = sorted({name.rpartition(".")[2] for name in model_linears(lm)})
    return (
        f"method.target_modules {targets!r} matches no linear layer of the model; "
        f"its linears are named {', '.join(names)} (or use role:query, all-linear)"
    )


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder's layers, whatever the family calls them (``layers``, GPT-2's ``h``): its
    module list as long as the config's layer count."""
    from torch import nn

    from peftctl.methods.base import causal_lm, decoder_stack

    lm = causal_lm(model)
    count = lm.config.num_hidden_layers
    for module in decoder_stack(model).modules():
        if isinstance(module, nn.ModuleList) and len(module) == count:
            return module
    raise PeftctlError(f"found no list of {count} decoder layers in {type(lm).__name__}")
