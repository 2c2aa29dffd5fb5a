"""Supertuning's options: the recipe's ``method.*`` keys, those of peft's
``SupertuningConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "sparsity": 0.99,
    "select_top": True,
    "lora_dropout": 0.0,
    "init_weights": True,
    "save_precomputed_indices": True,
}
#: The options passed to peft's ``SupertuningConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 5,
    (32, 32): 10,
    (32, 64): 20,
    (64, 32): 20,
    (576, 192): 1105,
    (576, 576): 3317,
    (576, 1536): 8847,
    (1536, 576): 8847,
}
SHARED = 0


@dataclass(kw_only=True)
class SupertuningConfig(TargetModulesConfig):
    """peft's ``SupertuningConfig``: a chosen fraction of weight entries trains."""

    name: str = field(default="supertuning", metadata={"help": "Method name."})
    sparsity: float = field(
        default=0.99,
        metadata={"help": "Target sparsity ratio in [0.0, 1.0) (peft's sparsity)."},
    )
    select_top: bool = field(
        default=True,
        metadata={
            "help": "Which end of the magnitude score to keep as the trainable support "
            "(peft's select_top)."
        },
    )
    lora_dropout: float = field(
        default=0.0,
        metadata={"help": "LoRA dropout probability for Supra mode (peft's lora_dropout)."},
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "When True (default), sparse `values` and LoRA `B` are zero-initialised "
            "(identity update) (peft's init_weights)."
        },
    )
    save_precomputed_indices: bool = field(
        default=True,
        metadata={
            "help": "Whether to save the sparse-support indices in the state dict (peft's "
            "save_precomputed_indices)."
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
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)
