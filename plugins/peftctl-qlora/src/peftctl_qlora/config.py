"""QLoRA's options (the recipe's ``method.*`` keys): LoRA's plus the quantisation. No torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, MethodConfig, PeftctlError

INITS = ("default", "gaussian")


@dataclass(kw_only=True)
class QLoraConfig(MethodConfig):
    """LoRA on a base whose decoder linear layers are stored in 4 bits (Dettmers et al., 2023).

    The paper puts adapters on every linear layer, hence ``target_modules: [all-linear]``.
    """

    name: str = field(default="qlora", metadata={"help": "Method name."})
    r: int = field(default=8, metadata={"help": "Rank of the update matrices.", "min": 1})
    alpha: float = field(
        default=16.0, metadata={"help": "Scaling numerator: the update is scaled by alpha / r."}
    )
    dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout on the adapter input (0 = none, fastest).", "min": 0, "max": 1},
    )
    target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Module name suffixes to adapt, or ['all-linear'] (QLoRA's choice)."},
    )
    bias: str = field(
        default="none",
        metadata={"help": "Which biases train.", "choices": ("none", "all", "lora_only")},
    )
    use_rslora: bool = field(
        default=False, metadata={"help": "Scale by alpha / sqrt(r) (rank-stabilised LoRA)."}
    )
    init: str = field(
        default="default",
        metadata={
            "help": "Initialisation of A and B (peft's init_lora_weights); pissa and olora "
            "need full-precision weights, so they are not offered.",
            "choices": INITS,
        },
    )
    quant_type: str = field(
        default="nf4",
        metadata={"help": "4-bit data type of the base weights.", "choices": ("nf4", "fp4")},
    )
    double_quant: bool = field(
        default=True,
        metadata={"help": "Quantise the per-block scales too (saves ~0.4 bit per weight)."},
    )

    def validate(self) -> None:
        if not self.target_modules:
            raise PeftctlError("method.target_modules is empty; name at least one module")

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        return sum(self.r * (i + o) for i, o in shapes)  # A: r x in, B: out x r
