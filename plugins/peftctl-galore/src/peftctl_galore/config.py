"""GaLore's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, PeftctlError, TargetModulesConfig

PROJ_TYPES = ("std", "reverse_std", "left", "right", "full")
OPTIMIZERS = ("adamw", "adafactor", "adamw8bit")


@dataclass(kw_only=True)
class GaloreConfig(TargetModulesConfig):
    """Gradient low-rank projection (Zhao et al., 2024): the target linears' weights train in
    full; their gradients are projected onto the top ``rank`` singular vectors (recomputed
    every ``update_proj_gap`` steps), the optimiser runs there and the update is projected
    back, scaled by ``scale``. Defaults: the paper's GLUE fine-tuning (pre-training used
    rank 128-512, scale 0.25, gap 200)."""

    name: str = field(default="galore", metadata={"help": "Method name."})
    rank: int = field(default=128, metadata={"help": "Rank of the gradient projection.", "min": 1})
    update_proj_gap: int = field(
        default=200,
        metadata={"help": "Optimiser steps between two SVDs of the gradient.", "min": 1},
    )
    scale: float = field(
        default=4.0,
        metadata={"help": "Factor on the projected-back update (GaLore's alpha).", "min": 0},
    )
    proj_type: str = field(
        default="std",
        metadata={
            "help": "Which side is projected: std (the smaller one), reverse_std, left, right, "
            "full (both).",
            "choices": PROJ_TYPES,
        },
    )
    target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={
            "help": "Linear layers trained with GaLore (peft's target_modules: name suffixes, "
            "or ['all-linear'] for every linear but the LM head)."
        },
    )
    train_rest: bool = field(
        default=False,
        metadata={
            "help": "Also train every other parameter (embeddings, norms, LM head) with plain "
            "AdamW, as the paper's full fine-tuning does; else they stay frozen."
        },
    )
    optimizer: str = field(
        default="adamw",
        metadata={
            "help": "GaLore optimiser: adamw, adafactor, or adamw8bit (CUDA bitsandbytes only).",
            "choices": OPTIMIZERS,
        },
    )
    layerwise: bool = field(
        default=False,
        metadata={
            "help": "Per-layer optimiser steps inside backward (GaLore's layer-wise memory "
            "saver): not supported, the trainer clips and accumulates whole-model gradients."
        },
    )

    def validate(self) -> None:
        super().validate()
        if self.layerwise:
            raise PeftctlError(
                "method.layerwise=true is not supported: layer-wise GaLore steps each layer "
                "inside backward, but peftctl's trainer accumulates and clips whole-model "
                "gradients; set method.layerwise=false (train.gradient_checkpointing=true "
                "saves memory instead)"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        if self.train_rest:
            return arch.total_params()
        shapes = arch.targets(self.target_modules)
        return None if shapes is None else sum(i * o for i, o in shapes)
