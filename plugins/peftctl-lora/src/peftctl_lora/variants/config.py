"""Options of the LoRA variants (DoRA, LoRA+, PiSSA, LoRA-FA): LoRA's plus their own.
No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import PeftctlError
from peftctl_lora.config import LoraConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class DoraConfig(LoraConfig):
    """LoRA on the direction of each weight plus a trained magnitude vector (Liu et al., 2024)."""

    name: str = field(default="dora", metadata={"help": "Method name."})

    def trainable_estimate(self, arch: Arch) -> int | None:
        lora, shapes = super().trainable_estimate(arch), arch.targets(self.target_modules)
        if lora is None or shapes is None:
            return None
        return lora + sum(o for _, o in shapes)  # one magnitude per output


@dataclass(kw_only=True)
class LoraPlusConfig(LoraConfig):
    """LoRA whose B matrices learn ``lr_ratio`` times faster than A (Hayou et al., 2024)."""

    name: str = field(default="loraplus", metadata={"help": "Method name."})
    lr_ratio: float = field(
        default=16.0,
        metadata={"help": "Learning rate of the B matrices divided by train.lr.", "min": 1},
    )


@dataclass(kw_only=True)
class PissaConfig(LoraConfig):
    """LoRA initialised from the principal singular vectors of each weight (Meng et al., 2024)."""

    name: str = field(default="pissa", metadata={"help": "Method name."})
    init: str = field(
        default="pissa",
        metadata={
            "help": "Initialisation: 'pissa' (exact SVD) or 'pissa_niter_N' (fast, N iterations).",
        },
    )

    def validate(self) -> None:
        super().validate()
        if self.init != "pissa" and not _is_fast_pissa(self.init):
            raise PeftctlError(f"method.init must be 'pissa' or 'pissa_niter_N', not '{self.init}'")


def _is_fast_pissa(init: str) -> bool:
    prefix = "pissa_niter_"
    return init.startswith(prefix) and init[len(prefix) :].isdigit()


@dataclass(kw_only=True)
class LoraFaConfig(LoraConfig):
    """LoRA with A frozen at its random start and B trained by the LoRA-FA optimiser (Zhang et
    al., 2023): half of LoRA's trainable parameters and optimiser state."""

    name: str = field(default="lorafa", metadata={"help": "Method name."})

    def validate(self) -> None:
        super().validate()
        if self.init != "default":
            raise PeftctlError(
                f"method.init={self.init}: LoRA-FA keeps A as peft initialises it by default; "
                "use method.init=default"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        return sum(self.r * o for _, o in shapes)  # B: out x r (A frozen)


@dataclass(kw_only=True)
class RsLoraConfig(LoraConfig):
    """Rank-stabilised LoRA: the update scaled by ``alpha / sqrt(r)`` (Kalajdzievski, 2023)."""

    name: str = field(default="rslora", metadata={"help": "Method name."})
    use_rslora: bool = field(
        default=True, metadata={"help": "Scale by alpha / sqrt(r) (rank-stabilised LoRA)."}
    )


@dataclass(kw_only=True)
class OloraConfig(LoraConfig):
    """LoRA initialised from a QR decomposition of each weight (Büyükakyüz, 2024)."""

    name: str = field(default="olora", metadata={"help": "Method name."})
    init: str = field(
        default="olora",
        metadata={"help": "Initialisation: olora (QR of the weight).", "choices": ("olora",)},
    )
