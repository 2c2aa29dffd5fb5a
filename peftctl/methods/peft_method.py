"""A :class:`Method` backed by the ``peft`` library: most methods only build a peft config.

Adapters are saved with ``save_pretrained``, so ``PeftModel.from_pretrained`` loads the
``adapter/`` directory unchanged.
"""

from __future__ import annotations

from pathlib import Path

from peft import PeftConfig, PeftModel, get_peft_model
from torch import nn

from peftctl.methods.base import Method, write_dir_atomically


class PeftMethod(Method):
    """Subclasses implement :meth:`peft_config`; everything else comes from peft."""

    def peft_config(self) -> PeftConfig:
        """The peft config built from ``self.config``."""
        raise NotImplementedError

    def apply(self, model: nn.Module) -> nn.Module:
        return get_peft_model(model, self.peft_config())

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=trainable)

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        peft_model = getattr(model, "module", model)
        write_dir_atomically(
            Path(adapter_dir),
            lambda tmp: peft_model.save_pretrained(str(tmp), safe_serialization=True),
        )

    def merge(self, model: nn.Module) -> nn.Module:
        return getattr(model, "module", model).merge_and_unload()

    def unload(self, model: nn.Module) -> nn.Module:
        """The base model with peft's layers taken out (its own weights were never changed)."""
        return getattr(model, "module", model).unload()
