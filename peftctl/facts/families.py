"""Model families by their transformers ``model_type``: where a decoder layer's modules live
and which of them plays each role, so a recipe's ``target_modules`` can name roles
(``role:query``) that resolve on every family, fused projections included. Torch-free.

Roles: ``query``, ``key``, ``value``, ``attn_out`` (attention output), ``gate``, ``up``,
``down`` (MLP), the groups ``attention`` (query, key, value, attn_out) and ``mlp`` (gate, up,
down), and ``norms`` (every norm, for norm-tuning methods). A fused module (Phi-3's
``qkv_proj``, GPT-2's ``c_attn``) plays each of its roles: ``[role:query, role:value]`` adapts
it once. A role a family lacks (GPT-2 has no MLP gate) is an error when named alone and
skipped inside a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLE_PREFIX = "role:"
ROLES = ("query", "key", "value", "attn_out", "gate", "up", "down")
GROUPS = {"attention": ROLES[:4], "mlp": ROLES[4:]}
NORMS = "norms"  # role:norms: every norm of a layer and the final one


@dataclass(frozen=True)
class Family:
    """Where one family's decoder modules live (paths inside a decoder layer)."""

    name: str
    layers: str  # path of the decoder layers: "model.layers" -> model.layers.0.self_attn.q_proj
    roles: dict[str, str]  # role -> path of its linear inside a layer (fused: several roles)
    norms: tuple[str, ...]  # norm paths inside a layer
    final_norm: str
    layer_count_keys: tuple[str, ...] = ("num_hidden_layers",)

    @property
    def linears(self) -> list[str]:
        """Paths of a layer's linears, in role order, each once."""
        return list(dict.fromkeys(self.roles.values()))

    def target_entry(self, path: str) -> str:
        """The shortest suffix of ``path`` naming it alone among the layer's modules
        (``q_proj``; GPT-2's ``attn.c_proj``, as its MLP has a ``c_proj`` too)."""
        parts = path.split(".")
        others = [p for p in [*self.linears, *self.norms] if p != path]
        for start in range(len(parts) - 1, -1, -1):
            suffix = ".".join(parts[start:])
            if not any(o == suffix or o.endswith(f".{suffix}") for o in others):
                return suffix
        return path

    def module_names(self, num_layers: int) -> list[str]:
        """Full names of every layer's linears and norms, and the final norm."""
        inner = [*self.linears, *self.norms]
        return [f"{self.layers}.{i}.{p}" for i in range(num_layers) for p in inner] + [
            self.final_norm
        ]

    def num_layers(self, config: dict[str, Any]) -> int | None:
        for key in self.layer_count_keys:
            if isinstance(config.get(key), int):
                return config[key]
        return None


def _llama_like(name: str, norms: tuple[str, ...] = ()) -> Family:
    return Family(
        name=name,
        layers="model.layers",
        roles={
            "query": "self_attn.q_proj",
            "key": "self_attn.k_proj",
            "value": "self_attn.v_proj",
            "attn_out": "self_attn.o_proj",
            "gate": "mlp.gate_proj",
            "up": "mlp.up_proj",
            "down": "mlp.down_proj",
        },
        norms=("input_layernorm", "post_attention_layernorm", *norms),
        final_norm="model.norm",
    )


_QK_NORMS = ("self_attn.q_norm", "self_attn.k_norm")
_GEMMA2_NORMS = ("pre_feedforward_layernorm", "post_feedforward_layernorm")
_FAMILIES = [
    _llama_like("llama"),
    _llama_like("mistral"),
    _llama_like("qwen2"),
    _llama_like("qwen3", _QK_NORMS),
    _llama_like("gemma"),
    _llama_like("gemma2", _GEMMA2_NORMS),
    _llama_like("gemma3_text", (*_QK_NORMS, *_GEMMA2_NORMS)),
    Family(
        name="phi3",
        layers="model.layers",
        roles={
            **dict.fromkeys(("query", "key", "value"), "self_attn.qkv_proj"),
            "attn_out": "self_attn.o_proj",
            **dict.fromkeys(("gate", "up"), "mlp.gate_up_proj"),
            "down": "mlp.down_proj",
        },
        norms=("input_layernorm", "post_attention_layernorm"),
        final_norm="model.norm",
    ),
    Family(
        name="gpt2",
        layers="transformer.h",
        roles={
            **dict.fromkeys(("query", "key", "value"), "attn.c_attn"),
            "attn_out": "attn.c_proj",
            "up": "mlp.c_fc",
            "down": "mlp.c_proj",
        },
        norms=("ln_1", "ln_2"),
        final_norm="transformer.ln_f",
        layer_count_keys=("n_layer", "num_hidden_layers"),
    ),
    Family(
        name="gpt_neox",
        layers="gpt_neox.layers",
        roles={
            **dict.fromkeys(("query", "key", "value"), "attention.query_key_value"),
            "attn_out": "attention.dense",
            "up": "mlp.dense_h_to_4h",
            "down": "mlp.dense_4h_to_h",
        },
        norms=("input_layernorm", "post_attention_layernorm"),
        final_norm="gpt_neox.final_layer_norm",
    ),
    Family(
        name="opt",
        layers="model.decoder.layers",
        roles={
            "query": "self_attn.q_proj",
            "key": "self_attn.k_proj",
            "value": "self_attn.v_proj",
            "attn_out": "self_attn.out_proj",
            "up": "fc1",
            "down": "fc2",
        },
        norms=("self_attn_layer_norm", "final_layer_norm"),
        final_norm="model.decoder.final_layer_norm",
    ),
    Family(
        name="falcon",
        layers="transformer.h",
        roles={
            **dict.fromkeys(("query", "key", "value"), "self_attention.query_key_value"),
            "attn_out": "self_attention.dense",
            "up": "mlp.dense_h_to_4h",
            "down": "mlp.dense_4h_to_h",
        },
        norms=("input_layernorm",),
        final_norm="transformer.ln_f",
    ),
]
FAMILIES: dict[str, Family] = {family.name: family for family in _FAMILIES}


def family_of(model_type: str | None) -> Family | None:
    """The family of a transformers ``model_type``, or None when peftctl has no table for it."""
    return FAMILIES.get(model_type or "")
