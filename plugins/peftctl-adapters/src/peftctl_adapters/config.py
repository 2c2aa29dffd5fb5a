"""Options of the bottleneck adapters (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from peftctl.api import Arch, MethodConfig, PeftctlError

ACTIVATIONS = ("relu", "swish", "gelu", "tanh")


@dataclass(kw_only=True)
class BottleneckConfig(MethodConfig):
    """A down-projection, a non-linearity and an up-projection added to every decoder layer."""

    #: Adapters per decoder layer.
    adapters_per_layer: ClassVar[int] = 1

    reduction_factor: int = field(
        default=16,
        metadata={"help": "Hidden size divided by the adapter's bottleneck size.", "min": 1},
    )
    non_linearity: str = field(
        default="relu",
        metadata={"help": "Activation inside the bottleneck.", "choices": ACTIVATIONS},
    )
    dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout on the adapter's output (0 = none).", "min": 0, "max": 1},
    )
    leave_out: list[int] = field(
        default_factory=list,
        metadata={"help": "Indices of decoder layers that get no adapter."},
    )

    def validate(self) -> None:
        negative = [i for i in self.leave_out if i < 0]
        if negative:
            raise PeftctlError(
                f"method.leave_out has negative layer indices {negative}; count layers from 0"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        h = arch.hidden_size
        bottleneck = max(h // self.reduction_factor, 1)  # as the adapters library sizes it
        one = h * bottleneck + bottleneck + bottleneck * h + h  # down and up, with biases
        layers = arch.num_layers - len({i for i in self.leave_out if i < arch.num_layers})
        return layers * self.adapters_per_layer * one


@dataclass(kw_only=True)
class DoubleSeqBnConfig(BottleneckConfig):
    """Houlsby et al. (2019): sequential adapters after the attention and the feed-forward block."""

    adapters_per_layer: ClassVar[int] = 2
    name: str = field(default="double_seq_bn", metadata={"help": "Method name."})
    non_linearity: str = field(
        default="swish",
        metadata={"help": "Activation inside the bottleneck.", "choices": ACTIVATIONS},
    )


@dataclass(kw_only=True)
class SeqBnConfig(BottleneckConfig):
    """Pfeiffer et al. (2021): one sequential adapter after the feed-forward block."""

    name: str = field(default="seq_bn", metadata={"help": "Method name."})


@dataclass(kw_only=True)
class ParBnConfig(BottleneckConfig):
    """He et al. (2022): an adapter parallel to the feed-forward block, its output scaled."""

    name: str = field(default="par_bn", metadata={"help": "Method name."})
    scaling: float = field(
        default=4.0, metadata={"help": "Factor on the parallel adapter's output.", "min": 0}
    )
