"""QLoRA's options (the recipe's ``method.*`` keys): LoRA's plus the quantisation. No torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl_lora import LoraConfig

from peftctl.api import PeftctlError


@dataclass(kw_only=True)
class QLoraConfig(LoraConfig):
    """LoRA on a base whose decoder linear layers are stored in 4 bits (Dettmers et al., 2023).

    The paper puts adapters on every linear layer, hence ``target_modules: [all-linear]``.
    """

    name: str = field(default="qlora", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Module name suffixes to adapt, or ['all-linear'] (QLoRA's choice)."},
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
        super().validate()
        if self.init in ("pissa", "olora"):
            raise PeftctlError(
                f"method.init={self.init} needs full-precision base weights to decompose; "
                "use init=default or gaussian with qlora, or the pissa/lora methods"
            )
