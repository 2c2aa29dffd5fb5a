"""Shared base of peft's prompt-learning methods (soft prompts, prefixes).

They are not mergeable, and load for continued training, which peft's ``from_pretrained``
refuses for them. peft saves the prompt itself (a reparameterising encoder's output, not its
weights), so continued training trains that prompt directly.
"""

from __future__ import annotations

from pathlib import Path

from peft import PeftConfig, PeftModel, get_peft_model, load_peft_weights, set_peft_model_state_dict
from torch import nn

from peftctl.api import Method, PeftMethod


class PromptLearningMethod(PeftMethod):
    """A :class:`PeftMethod` whose trained part is a prompt, not a weight update."""

    merge = Method.merge

    def apply(self, model: nn.Module) -> nn.Module:
        return self.wrap(model, self.peft_config())

    def wrap(self, model: nn.Module, config: PeftConfig) -> PeftModel:
        """``model`` with a fresh prompt of ``config`` (what :meth:`apply` and :meth:`load`
        start from; ``load`` then sets the saved prompt)."""
        return get_peft_model(model, config)

    def unload(self, model: nn.Module) -> nn.Module:
        """The wrapped model: a prompt never touches the base model's modules."""
        return getattr(model, "module", model).get_base_model()

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        config = PeftConfig.from_pretrained(str(adapter_dir))
        config.inference_mode = True  # the saved prompt is the encoder's output: train it directly
        peft_model = self.wrap(model, config)
        set_peft_model_state_dict(peft_model, load_peft_weights(str(adapter_dir)))
        for param in peft_model.prompt_encoder.parameters():
            param.requires_grad_(trainable)
        return peft_model
