"""Glora's options: the recipe's ``method.*`` keys, those of peft's
``GloraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "bias": "none",
    "init_weights": True,
}
#: The options passed to peft's ``GloraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class GloraConfig(TargetModulesConfig):
    """peft's ``GloraConfig``: generalised LoRA: trained scale, shift and low-rank paths."""

    name: str = field(default="glora", metadata={"help": "Method name."})
    r: int = field(
        default=8,
        metadata={
            "help": "Default rank of the LoRA matrices if the config contains lora "
            "parametrization (peft's r)."
        },
    )
    bias: str = field(
        default="none",
        metadata={
            "help": "Bias handling: 'none', 'all', or 'glora_only' (train bias on GLoRA "
            "layers when adapters are active) (peft's bias)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "If True, initialize GLoRA as a no-op (zeros for down-projection) (peft's"
            " init_weights)."
        },
    )

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Trainable parameters on a model of shape ``arch`` (`peftctl list-methods`); exact
        for the options in MEASURED_WITH, None for others."""
        shapes = arch.targets(self.target_modules)  # every adapted linear: (in, out)
        if shapes is None:
            return None
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
        return sum(16 * i + 16 * o for i, o in shapes)
