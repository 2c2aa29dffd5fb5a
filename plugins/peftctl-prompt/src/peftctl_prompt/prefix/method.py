"""Prefix tuning and P-tuning v2 through peft's ``PrefixTuningConfig``.

The prefix reaches the model as a key/value cache (``cache``; ``past_key_values`` before
transformers 5.24): the sequence length does not change, but the decoder must be given the
cache and a mask covering it. Its shape is the one the model's attention caches, measured on
one token (:func:`kv_shape`), not the one peft reads off the config.
"""

from __future__ import annotations

from pathlib import Path

import peft
import torch
from torch import nn

from peftctl.api import PeftctlError, cache_kwargs, causal_lm, is_checkpointing, returned_cache
from peftctl_prompt.prefix.config import PrefixTuningConfig, PTuningV2Config
from peftctl_prompt.prompt_learning import PromptLearningMethod


class PrefixMethod(PromptLearningMethod):
    """Base of the key/value prefix methods; they cannot be merged."""

    def apply(self, model: nn.Module) -> nn.Module:
        self.refuse_checkpointing(model)
        return generation_sees_the_prefix(super().apply(model))

    def wrap(self, model: nn.Module, config: peft.PeftConfig) -> peft.PeftModel:
        """peft's model with the prefix sized as the model's attention caches keys/values."""
        shape = kv_shape(self.decoder(model))
        return fit_prefix(super().wrap(model, config), shape)

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        return generation_sees_the_prefix(super().load(model, adapter_dir, trainable=trainable))

    def parameter_groups(self, model: nn.Module, *, lr: float, weight_decay: float) -> list[dict]:
        self.refuse_checkpointing(model)  # the trainer enables checkpointing before this call
        return super().parameter_groups(model, lr=lr, weight_decay=weight_decay)

    def refuse_checkpointing(self, model: nn.Module) -> None:
        """Raise :class:`PeftctlError` when gradient checkpointing is on."""
        if is_checkpointing(causal_lm(model)):
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
        decoder = self.decoder(model)
        out = decoder(input_ids=input_ids, attention_mask=mask, **cache_kwargs(decoder, cache))
        return out.last_hidden_state

    def packed_hidden_states(self, model: nn.Module, input_ids, position_ids, layout):
        """One prefix cache for the packed row: every token sees it, and the row's tokens sit
        after it (positions from ``num_virtual_tokens``) as in a padded example."""
        peft_model = getattr(model, "module", model)
        cache = peft_model.get_prompt(batch_size=1)
        decoder = self.decoder(model)
        out = decoder(
            input_ids=input_ids,
            position_ids=position_ids + self.config.num_virtual_tokens,
            packed_layout=layout,
            **cache_kwargs(decoder, cache),
        )
        return out.last_hidden_state


def kv_shape(decoder: nn.Module) -> tuple[int, int] | None:
    """``(key/value heads, head width)`` of what ``decoder``'s attention caches, from a pass
    over one token; None where layers, or keys and values, differ, or a layer caches nothing
    of its own, or the model is on the meta device (peft's own sizing stays).

    peft sizes a prefix from the config's ``num_key_value_heads`` where it has one, else from
    ``num_attention_heads``: wrong where the config's count is not the attention's (a config
    carrying a key its family ignores, as GPT-2, GPT-NeoX or OPT do ``num_key_value_heads``;
    Falcon's multi-query attention caches one head whatever the config says).
    """
    device = next(decoder.parameters()).device
    if device.type == "meta":  # shapes without weights (estimates): nothing to run
        return None
    ids = torch.zeros((1, 1), dtype=torch.long, device=device)
    training = decoder.training
    decoder.eval()
    try:
        with torch.no_grad():
            out = decoder(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
    finally:
        decoder.train(training)
    tensors = [
        getattr(layer, name, None)
        for layer in getattr(returned_cache(out), "layers", None) or []
        for name in ("keys", "values")
    ]
    if not tensors or any(t is None or t.dim() != 4 for t in tensors):  # a layer caching none
        return None
    shapes = {(t.shape[1], t.shape[-1]) for t in tensors}  # each [1, heads, 1, head width]
    return shapes.pop() if len(shapes) == 1 else None


def fit_prefix(peft_model: peft.PeftModel, shape: tuple[int, int] | None) -> peft.PeftModel:
    """``peft_model`` with its prefix encoder rebuilt for ``shape`` (:func:`kv_shape`) where
    peft sized it otherwise; the fresh encoder is initialised as peft initialises one."""
    if shape is None:
        return peft_model
    heads, width = shape
    adapter = peft_model.active_adapter
    config = peft_model.peft_config[adapter]
    if (config.num_attention_heads, config.token_dim) == (heads, heads * width):
        return peft_model
    config.num_attention_heads, config.token_dim = heads, heads * width
    old = peft_model.prompt_encoder[adapter].embedding.weight
    encoder = peft.PrefixEncoder(config).to(device=old.device, dtype=old.dtype)
    encoder.requires_grad_(old.requires_grad)
    peft_model.prompt_encoder[adapter] = encoder
    return peft_model


def generation_sees_the_prefix(peft_model: nn.Module) -> nn.Module:
    """Make ``peft_model.generate`` start from the prefix cache on every transformers version.

    transformers 5.24 renamed the generation cache ``past_key_values`` -> ``cache``; peft 0.21
    still injects the prefix as ``past_key_values``, which generation then drops, so the model
    generated without its prefix. The prefix is moved into an empty ``cache`` (the prefill step).
    """
    prepare = peft_model.prepare_inputs_for_generation

    def prepare_with_prefix(*args, **kwargs):
        inputs = prepare(*args, **kwargs)
        if "cache" in inputs and "past_key_values" in inputs:
            prefix, cache = inputs.pop("past_key_values"), inputs["cache"]
            if cache is None or cache.get_seq_length() == 0:
                inputs["cache"] = prefix
        return inputs

    peft_model.prepare_inputs_for_generation = prepare_with_prefix
    return peft_model


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

    def apply(self, model: nn.Module) -> nn.Module:
        peft_model = super().apply(model)
        if self.config.init == "model":
            encoder = peft_model.prompt_encoder[peft_model.active_adapter]
            decoder = self.decoder(peft_model)
            prefix = model_prefix(decoder, self.config.num_virtual_tokens)
            with torch.no_grad():
                encoder.embedding.weight.copy_(prefix)
        return peft_model


def model_prefix(decoder: nn.Module, length: int, seed: int = 0) -> torch.Tensor:
    """The keys and values the decoder stack ``decoder`` computes for ``length`` vocabulary
    tokens (drawn with ``seed``), laid out as peft's prefix embedding:
    ``[length, layers * 2 * kv_width]``, a layer's key then its value, heads in order."""
    ids = torch.randint(
        decoder.config.vocab_size, (1, length), generator=torch.Generator().manual_seed(seed)
    )
    device = next(decoder.parameters()).device
    training = decoder.training
    decoder.eval()
    try:
        with torch.no_grad():
            cache = returned_cache(decoder(input_ids=ids.to(device), use_cache=True))
    finally:
        decoder.train(training)
    # each [1, kv_heads, length, head_dim] -> [length, kv_heads * head_dim]
    states = [
        t[0].transpose(0, 1).flatten(1)
        for layer in cache.layers
        for t in (layer.keys, layer.values)
    ]
    return torch.cat(states, dim=1)
