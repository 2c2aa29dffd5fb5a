"""BitFit's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

DECODER_LINEARS = ("role:attention", "role:mlp")  # every decoder linear, on every family


@dataclass(kw_only=True)
class BitFitConfig(TargetModulesConfig):
    """Only the biases of the target linear layers train; a linear without a bias gets one,
    initialised to zero so the model's output is unchanged until training moves it."""

    name: str = field(default="bitfit", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: list(DECODER_LINEARS),
        metadata={
            "help": "The nn.Linear layers whose bias trains, as peft's target_modules (name "
            "suffixes, or ['all-linear']; default: every decoder linear of a Llama-style "
            "model; the LM head is never a target)."
        },
    )

    def validate(self) -> None:
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        return sum(out for _, out in shapes)  # one bias per output feature
