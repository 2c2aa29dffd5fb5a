"""The merged model of a run as one GGUF file: llama hyperparameters, tokenizer, chat
template and every weight in llama.cpp's layout, streamed tensor by tensor."""

from __future__ import annotations

from typing import Any

import numpy as np
from gguf import GGML_QUANT_VERSION, GGUFType, GGUFWriter, LlamaFileType

from peftctl.export import llama_arch
from peftctl.export.gguf_tokenizer import add_tokenizer
from peftctl.export.gguf_writer import PendingTensor, storage_type, write_gguf
from peftctl.export.plan import ExportPlan
from peftctl.models import gguf_llama

FILE_TYPES = {
    "f32": LlamaFileType.ALL_F32,
    "f16": LlamaFileType.MOSTLY_F16,
    "q8_0": LlamaFileType.MOSTLY_Q8_0,
}


def export_model_gguf(plan: ExportPlan, model: Any, tokenizer: Any) -> int:
    """Write ``model`` (merged, fp32) and ``tokenizer`` to ``plan.output``; returns the number
    of tensors written."""
    config, quant = model.config, plan.quant or "f16"
    llama_arch.check_supported(config)
    tensors = pending_tensors(model, quant)

    def add_metadata(writer: GGUFWriter) -> None:
        writer.add_type(GGUFType.MODEL)
        writer.add_name(f"{plan.config.model.name} + {plan.spec.name} ({plan.run_dir.name})")
        writer.add_file_type(FILE_TYPES[quant])
        writer.add_quantization_version(GGML_QUANT_VERSION)
        llama_arch.add_hparams(writer, config)
        add_tokenizer(writer, tokenizer, config.vocab_size)

    write_gguf(plan.output, llama_arch.ARCH, add_metadata, tensors)
    return len(tensors)


def pending_tensors(model: Any, quant: str) -> list[PendingTensor]:
    """Every weight of ``model`` under its llama.cpp name, after llama.cpp's extra tensors; a
    tied output head is left out (llama.cpp then reuses ``token_embd``, as transformers' loader
    does)."""
    config = model.config
    tied = bool(getattr(config, "tie_word_embeddings", False))
    pending = [
        PendingTensor(name, values.shape, storage_type(values.shape, quant), lambda v=values: v)
        for name, values in llama_arch.extra_tensors(config).items()
    ]
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue
        name = llama_arch.gguf_tensor_name(hf_name, config.num_hidden_layers)
        shape = tuple(tensor.shape)
        values = _values(name, tensor, config)
        pending.append(PendingTensor(name, shape, storage_type(shape, quant), values))
    return pending


def _values(name: str, tensor: Any, config: Any) -> Any:
    def values() -> np.ndarray:
        rows = tensor.detach().float().numpy()
        return gguf_llama.to_llamacpp_rows(name, rows, config)

    return values
