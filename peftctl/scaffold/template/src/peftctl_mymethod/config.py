"""MyMethod's options: the recipe's ``method.*`` keys. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.errors import PeftctlError
from peftctl.methods.base import MethodConfig

if TYPE_CHECKING:
    from peftctl.models.arch import Arch


@dataclass(kw_only=True)
class MyMethodConfig(MethodConfig):
    """One trained scale per output channel of each target linear layer, starting at 1."""

    name: str = field(default="mymethod", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "v_proj"],
        metadata={"help": "Name suffixes of the linear layers whose outputs are scaled."},
    )

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        if not self.target_modules:
            raise PeftctlError("method.target_modules is empty; name at least one linear layer")

    def trainable_estimate(self, arch: Arch) -> int | None:
        """One scale per output feature of each target, in every layer (`list-methods`)."""
        shapes = arch.linear_shapes()
        if any(name not in shapes for name in self.target_modules):
            return None
        outputs = sum(shapes[name][1] for name in dict.fromkeys(self.target_modules))
        return arch.num_layers * outputs
