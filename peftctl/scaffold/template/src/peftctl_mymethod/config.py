"""MyMethod's options: the recipe's ``method.*`` keys. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, MethodConfig, PeftctlError


@dataclass(kw_only=True)
class MyMethodConfig(MethodConfig):
    """One trained scale per output channel of each target linear layer, starting at 1."""

    name: str = field(default="mymethod", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "v_proj"],
        metadata={
            "help": "Linear layers whose outputs are scaled, as peft's target_modules: name "
            "suffixes, a regular expression, or ['all-linear']."
        },
    )

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        if not self.target_modules:
            raise PeftctlError("method.target_modules is empty; name at least one linear layer")

    def trainable_estimate(self, arch: Arch) -> int | None:
        """One scale per output feature of each target, in every layer (`list-methods`)."""
        shapes = arch.targets(self.target_modules)  # every matched linear: (in, out)
        return None if shapes is None else sum(out for _, out in shapes)
