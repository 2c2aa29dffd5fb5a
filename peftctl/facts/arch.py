"""Shapes of a Llama-style decoder, for parameter estimates that need no torch and no weights.

``Arch`` describes the modules a PEFT method targets (linear layers by name suffix, norms); a
method's config turns it into a trainable-parameter count
(:meth:`peftctl.methods.base.MethodConfig.trainable_estimate`), which ``peftctl
list-methods`` shows for :data:`DEFAULT_ARCH`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peftctl.facts.targets import (
    Targets,
    is_all_linear,
    is_peft_default,
    matches,
    resolve_targets,
    unmatched_entry,
)

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Arch:
    """A Llama-family decoder without biases (Llama, SmolLM2, Mistral)."""

    num_layers: int
    hidden_size: int
    intermediate_size: int
    num_heads: int
    num_kv_heads: int
    vocab_size: int
    head_dim: int = 0  # 0: hidden_size // num_heads
    tie_word_embeddings: bool = False
    model_type: str = "llama"  # what role:<role> target entries resolve against

    @classmethod
    def from_hf_config(cls, config: Any) -> Arch:
        """The shapes of a transformers ``LlamaConfig``-like object (attributes are read)."""
        heads = config.num_attention_heads
        return cls(
            num_layers=config.num_hidden_layers,
            hidden_size=config.hidden_size,
            intermediate_size=config.intermediate_size,
            num_heads=heads,
            num_kv_heads=getattr(config, "num_key_value_heads", None) or heads,
            vocab_size=config.vocab_size,
            head_dim=getattr(config, "head_dim", None) or 0,
            tie_word_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
            model_type=getattr(config, "model_type", None) or "llama",
        )

    @property
    def head_width(self) -> int:
        return self.head_dim or self.hidden_size // self.num_heads

    @property
    def kv_width(self) -> int:
        """Width of one layer's keys (and values): what a key/value prefix token holds."""
        return self.num_kv_heads * self.head_width

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """``(in_features, out_features)`` of each linear layer of a decoder layer, by name."""
        h, q = self.hidden_size, self.num_heads * self.head_width
        return {
            "q_proj": (h, q),
            "k_proj": (h, self.kv_width),
            "v_proj": (h, self.kv_width),
            "o_proj": (q, h),
            "gate_proj": (h, self.intermediate_size),
            "up_proj": (h, self.intermediate_size),
            "down_proj": (self.intermediate_size, h),
        }

    def named_linears(self) -> dict[str, tuple[int, int]]:
        """``(in_features, out_features)`` of every decoder linear, by its full module name
        (``model.layers.0.self_attn.q_proj``, as in a transformers causal LM)."""
        blocks = {name: "self_attn" if name in ATTENTION else "mlp" for name in ATTENTION + MLP}
        shapes = self.linear_shapes()
        return {
            f"model.layers.{i}.{blocks[name]}.{name}": shape
            for i in range(self.num_layers)
            for name, shape in shapes.items()
        }

    def targets(self, targets: Targets) -> list[tuple[int, int]] | None:
        """Shapes of every linear of the model that ``targets`` names (peft's semantics, see
        :mod:`peftctl.facts.targets`); None when an entry names no linear of this
        architecture (an estimate would be a guess)."""
        linears = self.named_linears()
        if is_all_linear(targets):
            return list(linears.values())
        if is_peft_default(targets):
            return None  # peft's choice, known once peft is imported
        targets = resolve_targets(targets, self.model_type)
        if not targets or unmatched_entry(linears, targets) is not None:
            return None
        return [shape for name, shape in linears.items() if matches(name, targets)]

    def norm_sizes(self) -> dict[str, int]:
        """Parameters of the RMSNorms by name suffix, summed over the model."""
        h = self.hidden_size
        return {
            "input_layernorm": self.num_layers * h,
            "post_attention_layernorm": self.num_layers * h,
            "norm": h,
        }

    def layer_params(self) -> int:
        """Parameters of one decoder layer (linears and its two norms)."""
        return sum(i * o for i, o in self.linear_shapes().values()) + 2 * self.hidden_size

    def total_params(self) -> int:
        """Parameters of the whole causal LM (a tied LM head counted once)."""
        embeddings = self.vocab_size * self.hidden_size
        head = 0 if self.tie_word_embeddings else embeddings
        return embeddings + self.num_layers * self.layer_params() + self.hidden_size + head


DEFAULT_ARCH = Arch(
    num_layers=30,
    hidden_size=576,
    intermediate_size=1536,
    num_heads=9,
    num_kv_heads=3,
    vocab_size=49152,
    head_dim=64,
    tie_word_embeddings=True,
)
"""SmolLM2-135M(-Instruct), the default model (``smollm2-135m-instruct``)."""

#: The config of ``peftctl.testing``'s tiny model (the contract kit's): 2 decoder layers,
#: hidden 32, 4 heads of width 8 with 2 key/value heads, MLP width 64, vocabulary 100, untied
#: LM head. Per layer the linears are
#: (in -> out) q_proj 32->32, k_proj 32->16, v_proj 32->16, o_proj 32->32, gate_proj 32->64,
#: up_proj 32->64, down_proj 64->32; the RMSNorms have 32 weights each.
TINY_LLAMA = dict(
    vocab_size=100,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)
