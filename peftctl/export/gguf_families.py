"""The model families the GGUF formats write, one row per transformers ``model_type``: what
llama.cpp calls the architecture and what its converter (``convert_hf_to_gguf.py``) does
differently for it. Plain data, no torch or gguf: the export plan reads it before anything
loads; :mod:`peftctl.export.gguf_arch` and :mod:`peftctl.export.gguf_tensors` apply it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from peftctl.errors import PeftctlError

#: what the refusal names as supported (``gemma3`` covers ``gemma3_text``)
SUPPORTED = "llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3"
#: the format to export instead -> llama.cpp's script that converts it
CONVERTERS = {"merged": "convert_hf_to_gguf.py", "peft": "convert_lora_to_gguf.py"}


@dataclass(frozen=True)
class Family:
    """How one transformers family becomes llama.cpp's architecture ``arch``."""

    arch: str  #: ``general.architecture``, and the prefix of the hyperparameter keys
    permute_qk: bool = False  #: llama's rotary layout: q/k rows in interleaved pairs
    norm_shift: float = 0.0  #: added to every ``*norm.weight`` (Gemma's norms scale by 1 + w)
    activation: tuple[str, str] = ("hidden_act", "silu")  #: config attribute, llama.cpp's value
    rope_types: tuple[str | None, ...] = (None, "linear")  #: rope scaling llama.cpp applies
    must_be_off: tuple[str, ...] = ()  #: config flags llama.cpp's architecture cannot honour
    must_be_set: tuple[str, ...] = ()  #: config values llama.cpp always applies
    tied_only: bool = False  #: llama.cpp's architecture has no separate output head
    swa_period: int = 0  #: llama.cpp's fixed pattern: every n-th layer full, the others sliding
    swa_rope_theta: float | None = None  #: llama.cpp's fixed rope base of the sliding layers
    layers_27b: int = 0  #: layer count at which llama.cpp scales attention by hidden / heads
    head_dim_keys: bool = False  #: always write ``attention.key_length``/``value_length``
    extra_keys: Callable[[Any, Any], None] | None = None  #: (writer, text config) -> keys
    text_config: str | None = None  #: a multimodal config's text-model attribute
    renames: tuple[tuple[str, str], ...] = ()  #: HF tensor-name prefixes -> the text model's
    skipped: tuple[str, ...] = ()  #: HF tensor-name prefixes not in llama.cpp's text model


def _gemma2_keys(writer: Any, config: Any) -> None:
    writer.add_attn_logit_softcapping(float(config.attn_logit_softcapping))
    writer.add_final_logit_softcapping(float(config.final_logit_softcapping))
    writer.add_sliding_window(int(config.sliding_window))


def _gemma3_keys(writer: Any, config: Any) -> None:
    if config.final_logit_softcapping:
        writer.add_final_logit_softcapping(float(config.final_logit_softcapping))
    writer.add_sliding_window(int(config.sliding_window))


def _phi3_keys(writer: Any, config: Any) -> None:
    writer.add_rope_scaling_orig_ctx_len(int(config.original_max_position_embeddings))
    writer.add_sliding_window(int(config.sliding_window or 0))  # llama.cpp ignores it


LLAMA = Family(
    "llama",
    permute_qk=True,
    rope_types=(None, "linear", "llama3"),
    must_be_off=("attention_bias", "mlp_bias"),
)
GEMMA = {
    "norm_shift": 1.0,
    "activation": ("hidden_activation", "gelu_pytorch_tanh"),
    "head_dim_keys": True,
}
GEMMA3 = Family(
    "gemma3",
    **GEMMA,
    must_be_off=("attn_logit_softcapping", "use_bidirectional_attention"),
    must_be_set=("sliding_window",),
    swa_period=6,
    swa_rope_theta=10000.0,
    layers_27b=62,
    extra_keys=_gemma3_keys,
)
FAMILIES = {
    "llama": LLAMA,
    "mistral": LLAMA,  # llama.cpp runs Mistral as llama (and attends over the whole context)
    "qwen2": Family("qwen2", must_be_off=("use_sliding_window",)),  # q/k/v biases: plain tensors
    "qwen3": Family("qwen3", must_be_off=("attention_bias", "use_sliding_window")),
    "gemma2": Family(
        "gemma2",
        **GEMMA,
        must_be_set=("attn_logit_softcapping", "final_logit_softcapping", "sliding_window"),
        tied_only=True,
        swa_period=2,
        layers_27b=46,
        extra_keys=_gemma2_keys,
    ),
    "gemma3_text": GEMMA3,
    "gemma3": replace(  # Gemma3ForConditionalGeneration: llama.cpp's GGUF is its text model
        GEMMA3,
        text_config="text_config",
        renames=(("model.language_model.", "model."),),
        skipped=("model.vision_tower.", "model.multi_modal_projector."),
    ),
    "phi3": Family("phi3", rope_types=(None,), extra_keys=_phi3_keys),  # fused qkv and gate_up
}


def family_of(model_type: str | None, others: Sequence[str] = ("merged", "peft")) -> Family:
    """The row of ``model_type``, or a one-line :class:`PeftctlError` naming the supported
    families and ``others``, the formats that do apply."""
    family = FAMILIES.get(model_type or "")
    if family is None:
        raise PeftctlError(
            f"GGUF export supports {SUPPORTED}; this model is '{model_type}': "
            + convert_hint(others)
        )
    return family


def convert_hint(others: Sequence[str] = ("merged", "peft")) -> str:
    """The way out: another format (the first of ``others``), then llama.cpp's converter."""
    formats = f"--format {others[0]}" + (f" (or {', '.join(others[1:])})" if others[1:] else "")
    converter = CONVERTERS.get(others[0], CONVERTERS["merged"])
    return f"use {formats} and convert with llama.cpp's {converter}"


def text_config(config: Any) -> Any:
    """The config of the text model llama.cpp runs (a multimodal model's ``text_config``)."""
    attribute = family_of(getattr(config, "model_type", None)).text_config
    return getattr(config, attribute) if attribute else config
