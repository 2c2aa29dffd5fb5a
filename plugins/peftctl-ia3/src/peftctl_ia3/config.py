"""IA3's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import MethodConfig, PeftctlError, resolve_targets, uses_roles

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class Ia3Config(MethodConfig):
    """Learned vectors rescaling keys, values and feed-forward activations (Liu et al., 2022)."""

    name: str = field(default="ia3", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: ["role:key", "role:value", "role:down"],
        metadata={"help": "Modules whose activations are rescaled: name suffixes or roles."},
    )
    feedforward_modules: list[str] = field(
        default_factory=lambda: ["role:down"],
        metadata={
            "help": "Which of target_modules are feed-forward (rescaled on their input, "
            "not their output)."
        },
    )

    def validate(self) -> None:
        if not self.target_modules:
            raise PeftctlError("method.target_modules is empty; name at least one module")
        if uses_roles(self.target_modules) or uses_roles(self.feedforward_modules):
            return  # names known once the model is: checked when the method is applied
        extra = sorted(set(self.feedforward_modules) - set(self.target_modules))
        if extra:
            raise PeftctlError(
                f"method.feedforward_modules {extra} are not in method.target_modules; "
                "add them there or remove them"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.linear_shapes()
        targets = resolve_targets(self.target_modules, arch.model_type)
        if isinstance(targets, str) or any(name not in shapes for name in targets):
            return None
        # scaled on their input, the others on their output
        feedforward = set(resolve_targets(self.feedforward_modules, arch.model_type))
        per_layer = sum(shapes[name][0 if name in feedforward else 1] for name in targets)
        return arch.num_layers * per_layer
