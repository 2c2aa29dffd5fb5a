"""Prefix tuning and P-tuning v2 through peft's ``PrefixTuningConfig``.

The prefix reaches the model as a key/value cache (``past_key_values``): the sequence length
does not change, but the decoder must be given the cache and a mask covering it.
"""

from __future__ import annotations

import peft
import torch
from torch import nn

from peftctl.api import PeftctlError, causal_lm
from peftctl_prompt.prefix.config import PrefixTuningConfig, PTuningV2Config
from peftctl_prompt.prompt_learning import PromptLearningMethod


class PrefixMethod(PromptLearningMethod):
    """Base of the key/value prefix methods; they cannot be merged."""

    def apply(self, model: nn.Module) -> nn.Module:
        self.refuse_checkpointing(model)
        return super().apply(model)

    def parameter_groups(self, model: nn.Module, *, lr: float, weight_decay: float) -> list[dict]:
        self.refuse_checkpointing(model)  # the trainer enables checkpointing before this call
        return super().parameter_groups(model, lr=lr, weight_decay=weight_decay)

    def refuse_checkpointing(self, model: nn.Module) -> None:
        """Raise :class:`PeftctlError` when gradient checkpointing is on."""
        if getattr(causal_lm(model), "is_gradient_checkpointing", False):
            raise PeftctlError(
                f"method '{self.config.name}' does not work with gradient checkpointing (its "
                "prefix is a key/value cache); set train.gradient_checkpointing=false"
            )

    def hidden_states(self, model: nn.Module, input_ids, attention_mask) -> torch.Tensor:
        peft_model = getattr(model, "module", model)
        batch = input_ids.shape[0]
        cache = peft_model.get_prompt(batch_size=batch)
        n_virtual = self.config.num_virtual_tokens
        mask = torch.cat([attention_mask.new_ones(batch, n_virtual), attention_mask], dim=1)
        decoder = causal_lm(model).get_decoder()
        out = decoder(input_ids=input_ids, attention_mask=mask, past_key_values=cache)
        return out.last_hidden_state


class PrefixTuningMethod(PrefixMethod):
    """Prefix tuning with an MLP reparameterisation."""

    config: PrefixTuningConfig

    def peft_config(self) -> peft.PrefixTuningConfig:
        return peft.PrefixTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.config.num_virtual_tokens,
            prefix_projection=True,
            encoder_hidden_size=self.config.encoder_hidden_size,
        )


class PTuningV2Method(PrefixMethod):
    """P-tuning v2: the per-layer prefixes are trained directly."""

    config: PTuningV2Config

    def peft_config(self) -> peft.PrefixTuningConfig:
        return peft.PrefixTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.config.num_virtual_tokens,
            prefix_projection=False,
        )
