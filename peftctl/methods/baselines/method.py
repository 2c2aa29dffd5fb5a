"""Full fine-tuning and freeze-tuning: the model's own parameters train, no peft wrapper."""

from __future__ import annotations

from torch import nn

from peftctl.errors import PeftctlError
from peftctl.methods.baselines.config import FreezeConfig
from peftctl.methods.own_weights import OwnWeightsMethod
from peftctl.methods.targets import decoder_layers


class FullMethod(OwnWeightsMethod):
    """Full fine-tuning."""

    def trainable_names(self, model: nn.Module) -> set[str]:
        return {name for name, _ in model.named_parameters()}


class FreezeMethod(OwnWeightsMethod):
    """Freeze-tuning: the last ``trainable_layers`` decoder layers train."""

    config: FreezeConfig

    def trainable_names(self, model: nn.Module) -> set[str]:
        layers = decoder_layers(model)
        k = self.config.trainable_layers
        if k > len(layers):
            raise PeftctlError(
                f"method.trainable_layers is {k} but the model has {len(layers)} layers; lower it"
            )
        trained = {id(p) for layer in layers[-k:] for p in layer.parameters()}
        return {name for name, param in model.named_parameters() if id(param) in trained}
