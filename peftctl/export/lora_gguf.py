"""A run's LoRA adapter as llama.cpp's adapter GGUF (what ``convert_lora_to_gguf.py`` writes):
the base model's ``general.architecture`` (llama.cpp refuses an adapter of another),
``general.type=adapter``, ``adapter.type=lora``, ``adapter.lora.alpha`` and per adapted weight
``<gguf name>.lora_a`` (r x in) and ``.lora_b`` (out x r), B's rows in llama.cpp's order."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from gguf import GGUFType, GGUFWriter, Keys, LlamaFileType

from peftctl.errors import PeftctlError
from peftctl.export import gguf_tensors
from peftctl.export.gguf_arch import check_supported
from peftctl.export.gguf_families import Family, text_config
from peftctl.export.gguf_writer import PendingTensor, storage_type, write_gguf
from peftctl.export.plan import ExportPlan, read_adapter_config

WEIGHTS = "adapter_model.safetensors"
ADVICE = "train the run again, or restore the file from a copy"
LORA_NAME = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")


def export_lora_gguf(plan: ExportPlan, base_config: Any) -> int:
    """Write the adapter of ``plan`` for the model described by ``base_config`` (a transformers
    config); returns the number of adapted weights."""
    from safetensors import safe_open

    from peftctl.file_checks import damaged_files

    family = check_supported(base_config)
    path = plan.adapter_dir / WEIGHTS
    if not path.is_file():
        raise PeftctlError(f"{plan.adapter_dir} has no {WEIGHTS}; re-save the adapter")
    quant = plan.quant or "f32"
    with damaged_files(plan.adapter_dir, ADVICE), safe_open(str(path), "pt") as weights:
        pairs = lora_pairs(list(weights.keys()))
        tensors = []
        for module, (a_key, b_key) in pairs.items():
            name = adapted_name(module, family, base_config)
            tensors += _pair(weights, name, (a_key, b_key), family, base_config, quant)
        write_gguf(plan.output, family.arch, _metadata(plan), tensors)
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


def adapted_name(module: str, family: Family, config: Any) -> str:
    """llama.cpp's name of the base weight ``module`` (an HF weight name) a LoRA pair adapts;
    a :class:`PeftctlError` for one outside the decoder layers of llama.cpp's text model."""
    text = gguf_tensors.text_name(module, family)
    layers = text_config(config).num_hidden_layers
    name = None if text is None else gguf_tensors.gguf_name(text, family, layers)
    if name is None or not name.startswith("blk."):
        raise PeftctlError(
            f"LoRA on '{module}' ({name or 'not in the text model'}) is not supported in "
            "llama.cpp adapters from peftctl; adapt only the decoder layers' linear modules, "
            "or use --format gguf"
        )
    return name


def _pair(
    weights: Any, name: str, keys: tuple[str, str], family: Family, config: Any, quant: str
) -> list[PendingTensor]:
    a_key, b_key = keys
    a_shape = tuple(weights.get_slice(a_key).get_shape())
    b_shape = tuple(weights.get_slice(b_key).get_shape())

    def a_values() -> np.ndarray:
        return weights.get_tensor(a_key).float().numpy()

    def b_values() -> np.ndarray:
        rows = weights.get_tensor(b_key).float().numpy()
        return gguf_tensors.in_llamacpp_order(name, rows, family, text_config(config))

    return [
        PendingTensor(f"{name}.lora_a", a_shape, storage_type(a_shape, quant), a_values),
        PendingTensor(f"{name}.lora_b", b_shape, storage_type(b_shape, quant), b_values),
    ]
