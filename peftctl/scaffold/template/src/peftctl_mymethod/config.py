"""MyMethod's options: the recipe's ``method.*`` keys. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig


@dataclass(kw_only=True)
class MyMethodConfig(TargetModulesConfig):
    """One trained scale per output channel of each target linear layer, starting at 1.
    ``target_modules`` (queries and values by default) and its check come from the base."""

    name: str = field(default="mymethod", metadata={"help": "Method name."})

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        """One scale per output feature of each target, in every layer (`list-methods`)."""
        shapes = arch.targets(self.target_modules)  # every matched linear: (in, out)
        return None if shapes is None else sum(out for _, out in shapes)
