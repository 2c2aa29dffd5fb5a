"""Carry out a checked :class:`~peftctl.export.plan.ExportPlan`: one writer per format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peftctl.export.plan import ExportPlan

if TYPE_CHECKING:
    from peftctl.export.merging import MergePlan


@dataclass(frozen=True)
class ExportResult:
    """What was written: the output, its size in bytes, what it holds, the Modelfile if any."""

    output: Path
    nbytes: int
    contents: str
    modelfile: Path | None = None


def export_run(plan: ExportPlan) -> ExportResult:
    """Write ``plan.output`` in ``plan.fmt``; loads the model only for merged formats."""
    if plan.fmt == "gguf":
        return _gguf(plan)
    if plan.fmt == "gguf-lora":
        return _gguf_lora(plan)
    if plan.fmt == "peft":
        return _peft(plan)
    return _merged(plan)


def _gguf(plan: ExportPlan) -> ExportResult:
    from peftctl.atomic import write_text_atomic
    from peftctl.export.gguf_arch import check_supported
    from peftctl.export.gguf_tokenizer import check_tokenizer
    from peftctl.export.merging import merged_model
    from peftctl.export.model_gguf import export_model_gguf
    from peftctl.export.ollama import modelfile
    from peftctl.models.loading import load_tokenizer

    check_supported(_base_config(plan))  # before loading any weights
    model_name, remote = plan.config.model.name, plan.config.model.trust_remote_code
    check_tokenizer(load_tokenizer(model_name, trust_remote_code=remote))
    model, tokenizer = merged_model(_merge_plan(plan))
    count = export_model_gguf(plan, model, tokenizer)
    written = None
    if plan.ollama:
        write_text_atomic(plan.modelfile, modelfile(plan.output.name, tokenizer))
        written = plan.modelfile
    contents = f"{count} tensors, {plan.quant}, tokenizer and chat template"
    return ExportResult(plan.output, plan.output.stat().st_size, contents, written)


def _gguf_lora(plan: ExportPlan) -> ExportResult:
    from peftctl.export.lora_gguf import export_lora_gguf

    count = export_lora_gguf(plan, _base_config(plan))
    contents = f"LoRA A/B of {count} weights, {plan.quant}"
    return ExportResult(plan.output, plan.output.stat().st_size, contents)


def _peft(plan: ExportPlan) -> ExportResult:
    from peftctl.export.peft_dir import export_peft_dir

    count = export_peft_dir(plan, _base_source(plan))
    return ExportResult(plan.output, _dir_size(plan.output), f"{count} adapter files")


def _merged(plan: ExportPlan) -> ExportResult:
    from peftctl.export.merging import merge_run

    card = merge_run(_merge_plan(plan, out_dir=plan.output))
    contents = f"HF model, {card['parameters']:,} parameters, {card['dtype']}"
    return ExportResult(plan.output, _dir_size(plan.output), contents)


def _merge_plan(plan: ExportPlan, out_dir: Path | None = None) -> MergePlan:
    from peftctl.export.merging import MergePlan

    dtype = {"f32": "fp32", "f16": "fp16"}.get(plan.quant or "f32", "fp32")
    out = out_dir or plan.output
    return MergePlan(plan.run_dir, plan.adapter_dir, out, plan.config, plan.spec, dtype)


def _base_source(plan: ExportPlan) -> str:
    """Where the base model loads from: a hub id, or a local directory's absolute path."""
    from peftctl.models.loading import model_source

    source = model_source(plan.config.model.name)
    return str(Path(source).resolve()) if Path(source).is_dir() else source


def _base_config(plan: ExportPlan) -> Any:
    """The base model's transformers config (config.json only, no weights)."""
    from transformers import AutoConfig

    remote = plan.config.model.trust_remote_code
    return AutoConfig.from_pretrained(_base_source(plan), trust_remote_code=remote)


def _dir_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
