"""The linear layers of a model that a recipe's ``target_modules`` names (the name rules are
:mod:`peftctl.facts.targets`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peftctl.errors import PeftctlError
from peftctl.facts.targets import Targets, is_all_linear, matches

if TYPE_CHECKING:
    from torch import nn


def target_linears(model: nn.Module, targets: Targets) -> dict[str, nn.Linear]:
    """``{name: layer}`` of the causal LM's ``nn.Linear`` layers named by ``targets``, never
    the output head; raises :class:`PeftctlError` listing the model's linears when none match."""
    from torch import nn

    from peftctl.methods.base import causal_lm

    lm = causal_lm(model)
    head = lm.get_output_embeddings()
    linears = {
        name: module
        for name, module in lm.named_modules()
        if isinstance(module, nn.Linear) and module is not head
    }
    if is_all_linear(targets):
        found = linears
    else:
        found = {name: module for name, module in linears.items() if matches(name, targets)}
    if not found:
        names = sorted({name.rpartition(".")[2] for name in linears})
        raise PeftctlError(
            f"method.target_modules {targets!r} matches no linear layer of the model; "
            f"its linears are named {', '.join(names)}"
        )
    return found
