"""A run's LoRA adapter as llama.cpp's adapter GGUF (what ``convert_lora_to_gguf.py`` writes):
``general.type=adapter``, ``adapter.type=lora``, ``adapter.lora.alpha`` and per adapted weight
``<gguf name>.lora_a`` (r x in) and ``.lora_b`` (out x r), B's q/k rows in llama.cpp order."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from gguf import GGUFType, GGUFWriter, Keys, LlamaFileType

from peftctl.errors import PeftctlError
from peftctl.export import llama_arch
from peftctl.export.gguf_writer import PendingTensor, storage_type, write_gguf
from peftctl.export.plan import ExportPlan, read_adapter_config
from peftctl.models import gguf_llama

WEIGHTS = "adapter_model.safetensors"
ADVICE = "train the run again, or restore the file from a copy"
LORA_NAME = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")


def export_lora_gguf(plan: ExportPlan, base_config: Any) -> int:
    """Write the adapter of ``plan`` for the llama model described by ``base_config`` (a
    transformers config); returns the number of adapted weights."""
    from safetensors import safe_open

    from peftctl.file_checks import damaged_files

    llama_arch.check_supported(base_config)
    path = plan.adapter_dir / WEIGHTS
    if not path.is_file():
        raise PeftctlError(f"{plan.adapter_dir} has no {WEIGHTS}; re-save the adapter")
    quant = plan.quant or "f32"
    with damaged_files(plan.adapter_dir, ADVICE), safe_open(str(path), "pt") as weights:
        pairs = lora_pairs(list(weights.keys()))
        tensors = []
        for module, (a_key, b_key) in pairs.items():
            tensors += _pair(weights, module, a_key, b_key, base_config, quant)
        write_gguf(plan.output, llama_arch.ARCH, _metadata(plan), tensors)
    return len(pairs)


def _metadata(plan: ExportPlan) -> Callable[[GGUFWriter], None]:
    alpha = llamacpp_alpha(read_adapter_config(plan.adapter_dir) or {})
    file_type = LlamaFileType.MOSTLY_F16 if plan.quant == "f16" else LlamaFileType.ALL_F32

    def add(writer: GGUFWriter) -> None:
        writer.add_type(GGUFType.ADAPTER)
        writer.add_string(Keys.Adapter.TYPE, "lora")
        writer.add_float32(Keys.Adapter.LORA_ALPHA, alpha)
        writer.add_name(f"{plan.config.model.name} {plan.spec.name} adapter")
        writer.add_file_type(file_type)

    return add


def llamacpp_alpha(peft_config: dict[str, Any]) -> float:
    """The alpha llama.cpp needs: it scales each update by ``alpha / rank``; rank-stabilised
    LoRA scales by ``alpha / sqrt(r)``, i.e. llama.cpp's alpha is ``alpha * sqrt(r)``."""
    alpha = float(peft_config.get("lora_alpha", peft_config.get("r", 8)))
    if peft_config.get("use_rslora"):
        alpha *= math.sqrt(peft_config["r"])
    return alpha


def lora_pairs(keys: list[str]) -> dict[str, tuple[str, str]]:
    """``{hf module weight name: (lora_A key, lora_B key)}`` from the adapter's tensor names;
    a tensor that is neither is a :class:`PeftctlError` (it has no llama.cpp adapter form)."""
    parts: dict[str, dict[str, str]] = {}
    for key in sorted(keys):
        match = LORA_NAME.match(key)
        if match is None:
            raise PeftctlError(
                f"adapter tensor '{key}' is not a LoRA A/B matrix; llama.cpp adapters hold only "
                "those: use --format peft or --format gguf"
            )
        parts.setdefault(f"{match['module']}.weight", {})[match["part"]] = key
    incomplete = [module for module, found in parts.items() if set(found) != {"A", "B"}]
    if incomplete:
        raise PeftctlError(f"adapter lacks the A or B matrix of {incomplete[0]}; re-save it")
    return {module: (found["A"], found["B"]) for module, found in parts.items()}


def _pair(
    weights: Any, module: str, a_key: str, b_key: str, config: Any, quant: str
) -> list[PendingTensor]:
    name = llama_arch.gguf_tensor_name(module, config.num_hidden_layers)
    if not name.startswith("blk."):
        raise PeftctlError(
            f"LoRA on '{module}' ({name}) is not supported in llama.cpp adapters from peftctl; "
            "adapt only the decoder layers' linear modules, or use --format gguf"
        )
    a_shape = tuple(weights.get_slice(a_key).get_shape())
    b_shape = tuple(weights.get_slice(b_key).get_shape())

    def a_values() -> np.ndarray:
        return weights.get_tensor(a_key).float().numpy()

    def b_values() -> np.ndarray:
        rows = weights.get_tensor(b_key).float().numpy()
        return gguf_llama.to_llamacpp_rows(name, rows, config)

    return [
        PendingTensor(f"{name}.lora_a", a_shape, storage_type(a_shape, quant), a_values),
        PendingTensor(f"{name}.lora_b", b_shape, storage_type(b_shape, quant), b_values),
    ]
