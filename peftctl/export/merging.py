"""Fold a finished run's adapter into its base model: a standalone Hugging Face model.

:func:`plan_merge` checks everything a user can get wrong without importing torch, so a
refusal (non-mergeable method, unfinished run, occupied output) comes before any model is
loaded; :func:`merge_run` then loads, merges and writes the output directory atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peftctl.errors import PeftctlError
from peftctl.run_files import ADAPTER, RECIPE

if TYPE_CHECKING:
    from peftctl.config.schema import RecipeConfig
    from peftctl.specs import MethodSpec

MERGE_CARD = "merge.json"
DTYPES = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class MergePlan:
    """A checked merge: which run, with which recipe and method, into which directory."""

    run_dir: Path
    adapter_dir: Path
    out_dir: Path
    config: RecipeConfig
    spec: MethodSpec
    dtype: str = "fp32"


def plan_merge(
    run_dir: str | Path, out_dir: str | Path, *, dtype: str = "fp32", overwrite: bool = False
) -> MergePlan:
    """Check that ``run_dir`` is a finished run of a mergeable method and that ``out_dir`` may
    be written; raises :class:`PeftctlError` otherwise. Imports no torch."""
    if dtype not in DTYPES:
        raise PeftctlError(f"--dtype must be one of {', '.join(DTYPES)}, not '{dtype}'")
    run, config, spec = load_run(run_dir)
    if not spec.mergeable:
        raise PeftctlError(
            f"method '{spec.name}' ({spec.category}) cannot be merged: its adapter is not a "
            f"weight update; use {run / ADAPTER} with the base model (`peftctl eval {run}`)"
        )
    adapter = finished_adapter(run)
    out = Path(out_dir).expanduser()
    _check_output(out, run, overwrite=overwrite)
    return MergePlan(run, adapter, out, config, spec, dtype)


def load_run(run_dir: str | Path) -> tuple[Path, RecipeConfig, MethodSpec]:
    """The run directory, its recipe and its method's spec; a :class:`PeftctlError` when
    ``run_dir`` is not a run directory. Imports no torch."""
    from peftctl.config.recipe import load_recipe
    from peftctl.plugin_manager import get_plugins

    run = Path(run_dir).expanduser()
    if not (run / RECIPE).is_file():
        raise PeftctlError(
            f"{run} is not a run directory (no {RECIPE}); pass the output_dir of `peftctl train`"
        )
    config = load_recipe(run / RECIPE)
    return run, config, get_plugins().methods.get(config.method.name)


def finished_adapter(run: Path) -> Path:
    """``run``'s non-empty ``adapter/`` directory, or a :class:`PeftctlError`."""
    adapter = run / ADAPTER
    if not adapter.is_dir() or not any(adapter.iterdir()):
        raise PeftctlError(
            f"{run} has no {ADAPTER}/ (the run did not finish); resume it with "
            "`peftctl train --resume` or merge a finished run"
        )
    return adapter


def _check_output(out: Path, run: Path, *, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise PeftctlError(f"OUT_DIR {out} is a file; pass a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise PeftctlError(
                f"OUT_DIR {out} is not empty; pass --overwrite to replace it or choose another"
            )
        if run.resolve().is_relative_to(out.resolve()):
            raise PeftctlError(f"OUT_DIR {out} holds the run {run}; choose another directory")


def merge_run(plan: MergePlan) -> dict[str, Any]:
    """Load the base model and adapter of ``plan``, merge in fp32, save the model (in
    ``plan.dtype``), its tokenizer and ``merge.json`` to ``plan.out_dir``; returns what
    ``merge.json`` holds."""
    from peftctl import typed
    from peftctl.run_files import versions

    merged, tokenizer = merged_model(plan, dtype=plan.dtype)
    card = {
        "source_run": str(plan.run_dir.resolve()),
        "base_model": plan.config.model.name,
        "method": plan.spec.name,
        "method_options": typed.to_plain(plan.config.method),
        "method_plugin": plan.spec.owner,
        "dtype": plan.dtype,
        "parameters": sum(p.numel() for p in merged.parameters()),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions("torch", "transformers", "peft", "peftctl"),
    }

    save_standalone(plan.out_dir, merged, tokenizer, card)
    return card


def merged_model(plan: MergePlan, *, dtype: str = "fp32") -> tuple[Any, Any]:
    """``(model, tokenizer)``: the base model of ``plan`` with its adapter merged in fp32, then
    cast to ``dtype``, in eval mode."""
    import torch

    from peftctl.methods.base import load_adapter
    from peftctl.models.loading import load_model, load_tokenizer

    name, remote = plan.config.model.name, plan.config.model.trust_remote_code
    tokenizer = load_tokenizer(name, trust_remote_code=remote)
    model = load_model(name, dtype=torch.float32, trust_remote_code=remote)
    method = plan.spec.load()(plan.config.method)
    model = load_adapter(method, model, plan.adapter_dir, trainable=False)
    return method.merge(model).to(torch_dtype(dtype)).eval(), tokenizer


def torch_dtype(name: str) -> Any:
    """The torch dtype of ``--dtype`` ``name`` (one of :data:`DTYPES`)."""
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def save_standalone(out_dir: Path, model: Any, tokenizer: Any, card: dict[str, Any]) -> None:
    """Write ``model``, ``tokenizer`` and ``merge.json`` (``card``) as ``out_dir``, atomically."""
    from peftctl.methods.base import write_dir_atomically

    def write(folder: Path) -> None:
        model.save_pretrained(str(folder), safe_serialization=True)
        tokenizer.save_pretrained(str(folder))
        write_card(folder, card)

    write_dir_atomically(out_dir, write)


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """``merge.json`` in ``folder``."""
    (folder / MERGE_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
