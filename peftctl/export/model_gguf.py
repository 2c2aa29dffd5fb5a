"""The merged model of a run as one GGUF file: its family's hyperparameters, tokenizer, chat
template and every weight in llama.cpp's layout, streamed tensor by tensor."""

from __future__ import annotations

from typing import Any

import numpy as np
from gguf import GGML_QUANT_VERSION, GGUFType, GGUFWriter, LlamaFileType

from peftctl.export import gguf_arch, gguf_tensors
from peftctl.export.gguf_families import Family, text_config
from peftctl.export.gguf_tokenizer import add_tokenizer
from peftctl.export.gguf_writer import PendingTensor, storage_type, write_gguf
from peftctl.export.plan import ExportPlan

FILE_TYPES = {
    "f32": LlamaFileType.ALL_F32,
    "f16": LlamaFileType.MOSTLY_F16,
    "q8_0": LlamaFileType.MOSTLY_Q8_0,
}


def export_model_gguf(plan: ExportPlan, model: Any, tokenizer: Any) -> int:
    """Write ``model`` (merged, fp32) and ``tokenizer`` to ``plan.output``; returns the number
    of tensors written."""
    config, quant = model.config, plan.quant or "f16"
    family = gguf_arch.check_supported(config)
    tensors = pending_tensors(model, quant)

    def add_metadata(writer: GGUFWriter) -> None:
        writer.add_type(GGUFType.MODEL)
        writer.add_name(f"{plan.config.model.name} + {plan.spec.name} ({plan.run_dir.name})")
        writer.add_file_type(FILE_TYPES[quant])
        writer.add_quantization_version(GGML_QUANT_VERSION)
        gguf_arch.add_hparams(writer, config)
        add_tokenizer(writer, tokenizer, text_config(config).vocab_size)

    write_gguf(plan.output, family.arch, add_metadata, tensors)
    return len(tensors)


def pending_tensors(model: Any, quant: str) -> list[PendingTensor]:
    """Every weight of ``model``'s text model under its llama.cpp name, after llama.cpp's
    extra tensors; a tied output head is left out (llama.cpp then reuses ``token_embd``, as
    transformers' loader does)."""
    family, text = gguf_arch.check_supported(model.config), text_config(model.config)
    pending = [
        PendingTensor(name, values.shape, storage_type(values.shape, quant), lambda v=values: v)
        for name, values in gguf_arch.extra_tensors(model.config).items()
    ]
    head = "lm_head.weight" if _tied(model) else None
    for hf_name, tensor in model.state_dict().items():
        text_name = gguf_tensors.text_name(hf_name, family)
        if text_name is None or hf_name == head:
            continue
        name = gguf_tensors.gguf_name(text_name, family, text.num_hidden_layers)
        shape = tuple(tensor.shape)
        values = _values(name, tensor, family, text)
        pending.append(PendingTensor(name, shape, storage_type(shape, quant), values))
    return pending


def _tied(model: Any) -> bool:
    """Whether the output head is the input embedding (one tensor, two names)."""
    head, embedding = model.get_output_embeddings(), model.get_input_embeddings()
    return head is not None and head.weight is embedding.weight


def _values(name: str, tensor: Any, family: Family, config: Any) -> Any:
    def values() -> np.ndarray:
        weights = tensor.detach().float().numpy()
        return gguf_tensors.stored_values(name, weights, family, config)

    return values
