"""A :class:`Method` backed by the ``peft`` library: most methods only build a peft config.

Adapters are saved with ``save_pretrained``, so ``PeftModel.from_pretrained`` loads the
``adapter/`` directory unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

from peft import PeftConfig, PeftModel, get_peft_model
from torch import nn

from peftctl.errors import PeftctlError
from peftctl.facts.targets import is_peft_default, resolve_targets
from peftctl.methods.base import Method, causal_lm, write_dir_atomically
from peftctl.methods.targets import no_match

#: peft's words for a target layer type its tuner cannot adapt
UNSUPPORTED = re.compile(r"^Target module .* not supported")
#: peft config fields that name modules (IA3's feed-forward ones are among its targets)
MODULE_FIELDS = ("target_modules", "feedforward_modules")


class PeftMethod(Method):
    """Subclasses implement :meth:`peft_config`; everything else comes from peft."""

    def peft_config(self) -> PeftConfig:
        """The peft config built from ``self.config``."""
        raise NotImplementedError

    def apply(self, model: nn.Module) -> nn.Module:
        config = self.peft_config()
        model_type = getattr(causal_lm(model).config, "model_type", None)
        for field in MODULE_FIELDS:
            names = getattr(config, field, None)
            if names is not None and not isinstance(names, str):
                names = sorted(names) if isinstance(names, set) else list(names)
            if names is not None:
                names = None if is_peft_default(names) else resolve_targets(names, model_type)
                setattr(config, field, names)
        _check_feedforward(config)
        try:
            return get_peft_model(model, config)
        except (TypeError, ValueError) as error:
            message = self._refusal(error, model, model_type)
            if message is None:
                raise
            raise PeftctlError(message) from None

    def _refusal(self, error: Exception, model: nn.Module, model_type: str | None) -> str | None:
        """The one line for a user's error peft raised while applying, or None (a bug: raised
        as it is)."""
        if UNSUPPORTED.search(str(error)):
            # a target layer type peft cannot adapt (GPT-2's Conv1D): LoRA's TypeError "... is
            # not supported. Currently ...", LyCORIS' "... not supported, currently ...", some
            # tuners' ValueError
            reason = re.split(r"[.,] [Cc]urrently", str(error))[0].rstrip(".")
            return (
                f"{self.config.name} cannot adapt this {model_type} model's target layers: "
                f"{reason}; use lora or ia3 on it"
            )
        if not isinstance(error, ValueError):  # peft's NoMatchingPeftModuleError is one
            return None
        targets = getattr(self.config, "target_modules", None)
        if "Please specify" in str(error) and is_peft_default(targets or ()):
            return (
                f"method.target_modules=default: peft has no default modules for model type "
                f"'{model_type}'; name roles (role:query, role:value) or use all-linear"
            )
        if "not found in the base model" in str(error):
            return no_match(targets, causal_lm(model))
        return None

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=trainable)

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        peft_model = getattr(model, "module", model)
        write_dir_atomically(
            Path(adapter_dir),
            lambda tmp: peft_model.save_pretrained(str(tmp), safe_serialization=True),
        )

    def merge(self, model: nn.Module) -> nn.Module:
        try:
            return getattr(model, "module", model).merge_and_unload()
        except NotImplementedError as error:  # a tuner peft cannot merge (Lily, ...)
            raise PeftctlError(
                f"{self.config.name} cannot be merged: peft says '{error}'"
            ) from None

    def unload(self, model: nn.Module) -> nn.Module:
        """The base model with peft's layers taken out (its own weights were never changed)."""
        return getattr(model, "module", model).unload()


def _check_feedforward(config: PeftConfig) -> None:
    """IA3's feed-forward modules must be among its targets, once roles are names."""
    targets, feedforward = config.target_modules, getattr(config, "feedforward_modules", None)
    if not feedforward or isinstance(targets, str) or isinstance(feedforward, str):
        return
    extra = sorted(set(feedforward) - set(targets or ()))
    if extra:
        raise PeftctlError(
            f"method.feedforward_modules {extra} are not in method.target_modules "
            f"{sorted(targets or ())} for this model; add them there or remove them"
        )
