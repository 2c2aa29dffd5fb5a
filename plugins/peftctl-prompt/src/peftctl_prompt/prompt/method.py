"""Prompt tuning, P-tuning and multitask prompt tuning through peft.

peft prepends the virtual tokens to the input embeddings, so :meth:`hidden_states` runs the
decoder on ``[prompt; tokens]`` and returns the states of the real tokens only. Generation
runs the base model's ``generate`` on those embeddings (:func:`generate_from_embeddings`).
"""

from __future__ import annotations

import peft
import torch
from torch import nn

from peftctl_prompt.prompt.config import MtpConfig, PromptTuningConfig, PTuningConfig
from peftctl_prompt.prompt_learning import PromptLearningMethod


class InputPromptMethod(PromptLearningMethod):
    """Base of the methods that prepend trained virtual tokens; they cannot be merged."""

    def wrap(self, model: nn.Module, config: peft.PeftConfig) -> peft.PeftModel:
        return generate_from_embeddings(super().wrap(model, config), self)

    def prompts(self, peft_model: nn.Module, batch_size: int, device: torch.device) -> torch.Tensor:
        """The virtual token embeddings ``[batch, n_virtual, hidden]``."""
        return peft_model.get_prompt(batch_size=batch_size)

    def prompted_embeddings(self, model: nn.Module, input_ids) -> torch.Tensor:
        return self._prompted(model, input_ids, input_ids.shape[0])[0]

    def hidden_states(self, model: nn.Module, input_ids, attention_mask) -> torch.Tensor:
        batch = input_ids.shape[0]
        inputs, n_virtual = self._prompted(model, input_ids, batch)
        mask = torch.cat([attention_mask.new_ones(batch, n_virtual), attention_mask], dim=1)
        decoder = self.decoder(model)
        hidden = decoder(inputs_embeds=inputs, attention_mask=mask).last_hidden_state
        return hidden[:, n_virtual:]

    def packed_hidden_states(self, model: nn.Module, input_ids, position_ids, layout):
        """The prompt once in front of the packed row, at positions ``0..n-1`` as in every
        padded example; the row's tokens move ``n`` positions on."""
        inputs, n_virtual = self._prompted(model, input_ids, 1)
        front = torch.arange(n_virtual, device=input_ids.device)[None]
        decoder = self.decoder(model)
        hidden = decoder(
            inputs_embeds=inputs,
            position_ids=torch.cat([front, position_ids + n_virtual], dim=1),
            use_cache=False,
            packed_layout=layout.shifted(n_virtual),
        ).last_hidden_state
        return hidden[:, n_virtual:]

    def _prompted(self, model: nn.Module, input_ids, prompts_for: int) -> tuple[torch.Tensor, int]:
        """``[prompt; token embeddings]`` (``prompts_for`` prompts: one per row) and the
        prompt's length."""
        peft_model = getattr(model, "module", model)
        embeds = peft_model.word_embeddings(input_ids)
        prompts = self.prompts(peft_model, prompts_for, input_ids.device).to(embeds.dtype)
        return torch.cat([prompts, embeds], dim=1), prompts.shape[1]


class PromptTuningMethod(InputPromptMethod):
    """Soft prompt tuning."""

    config: PromptTuningConfig

    def peft_config(self) -> peft.PromptTuningConfig:
        init = {"random": "RANDOM", "sample_vocab": "SAMPLE_VOCAB"}[self.config.init]
        return peft.PromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.config.num_virtual_tokens,
            prompt_tuning_init=init,
        )


class PTuningMethod(InputPromptMethod):
    """P-tuning: the prompt comes out of a trained MLP/LSTM encoder."""

    config: PTuningConfig

    def peft_config(self) -> peft.PromptEncoderConfig:
        cfg = self.config
        return peft.PromptEncoderConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=cfg.num_virtual_tokens,
            encoder_reparameterization_type=cfg.encoder,
            encoder_hidden_size=cfg.encoder_hidden_size,
            encoder_dropout=cfg.encoder_dropout,
        )


class MtpMethod(InputPromptMethod):
    """Multitask prompt tuning; every example is task 0 until datasets carry task ids."""

    config: MtpConfig

    def peft_config(self) -> peft.MultitaskPromptTuningConfig:
        cfg = self.config
        return peft.MultitaskPromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=cfg.num_virtual_tokens,
            num_tasks=cfg.num_tasks,
            num_ranks=cfg.num_ranks,
            prompt_tuning_init="RANDOM",
        )

    def prompts(self, peft_model: nn.Module, batch_size: int, device: torch.device) -> torch.Tensor:
        task_ids = torch.zeros(batch_size, dtype=torch.long, device=device)
        return peft_model.get_prompt(batch_size=batch_size, task_ids=task_ids)

    def generation_kwargs(self, batch_size: int) -> dict[str, torch.Tensor]:
        return {"task_ids": torch.zeros(batch_size, dtype=torch.long)}


def generate_from_embeddings(peft_model: peft.PeftModel, method: InputPromptMethod):
    """Make ``peft_model.generate`` run the base model's ``generate`` on ``[prompt; tokens]``
    embeddings, returning ``[input_ids, new tokens]`` as peft's does.

    From transformers 5.24 (generation's cache renamed ``past_key_values`` -> ``cache``) peft
    0.21 no longer sees the cache after the first token and puts the prompt in again at every
    step: answers went wrong from their second token. Positions follow the attention mask, so
    left-padded rows (their padding between prompt and text, masked) answer as they do alone.
    """
    original = peft_model.generate

    def generate(*args, input_ids=None, attention_mask=None, task_ids=None, **kwargs):
        if args or input_ids is None or "inputs_embeds" in kwargs:
            given = {} if task_ids is None else {"task_ids": task_ids}
            return original(
                *args, input_ids=input_ids, attention_mask=attention_mask, **given, **kwargs
            )
        embeds = method.prompted_embeddings(peft_model, input_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        virtual = embeds.shape[1] - input_ids.shape[1]
        mask = torch.cat([attention_mask.new_ones(len(input_ids), virtual), attention_mask], 1)
        base = peft_model.get_base_model()
        new = base.generate(inputs_embeds=embeds, attention_mask=mask, **kwargs)
        return torch.cat([input_ids, new], dim=1)

    peft_model.generate = generate
    return peft_model
