"""Several LoRA runs combined into one adapter with peft's ``add_weighted_adapter``, then
merged into a standalone model, or (``adapter_only``) saved as a run-shaped directory that
``peftctl eval``, ``generate``, ``chat`` and ``merge`` take as RUN_DIR.

peft's rules, which :func:`plan_combination` checks before any model loads: only plain LoRA
adapters combine (not DoRA, not rank-stabilised ones); ``linear`` and ``ties`` need equal
ranks and combine the A and B matrices separately, each weighted by ``sqrt(weight *
scaling)``; ``cat`` stacks them (rank = the sum of ranks), so its update is exactly
``sum(weight * delta)``. The combined adapter has ``alpha = r`` (scaling 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError
from peftctl.export.merging import DTYPES, MergePlan, plan_merge

COMBINATIONS = ("linear", "ties", "cat")
PEFT_CONFIG = "adapter_config.json"
COMBINED = "default"  # peft saves the adapter called "default" at the top of the directory
DAMAGED = "train the run again, or restore the file from a copy"


@dataclass(frozen=True)
class CombinationPlan:
    """Checked runs, weights and combination, and where the result goes."""

    runs: list[MergePlan]
    weights: list[float]
    combination: str
    density: float | None
    out_dir: Path
    adapter_only: bool = False
    dtype: str = "fp32"


def plan_combination(
    run_dirs: list[str],
    out_dir: str,
    *,
    weights: list[float] | None = None,
    combination: str = "linear",
    density: float | None = None,
    adapter_only: bool = False,
    dtype: str = "fp32",
    overwrite: bool = False,
) -> CombinationPlan:
    """Check that ``run_dirs`` (two or more) can be combined as asked; raises
    :class:`PeftctlError` otherwise. Imports no torch."""
    if combination not in COMBINATIONS:
        raise PeftctlError(
            f"--combination must be one of {', '.join(COMBINATIONS)}, not '{combination}'"
        )
    if dtype not in DTYPES:
        raise PeftctlError(f"--dtype must be one of {', '.join(DTYPES)}, not '{dtype}'")
    weights = weights or [1 / len(run_dirs)] * len(run_dirs)
    if len(weights) != len(run_dirs):
        raise PeftctlError(
            f"--weights has {len(weights)} values for {len(run_dirs)} runs; give one per run"
        )
    density = _density(combination, density)
    runs = [plan_merge(run, out_dir, dtype=dtype, overwrite=overwrite) for run in run_dirs]
    configs = [_lora_config(run) for run in runs]
    _check_same_base(runs)
    if combination != "cat":
        _check_equal_ranks(runs, configs, combination)
    out = Path(out_dir).expanduser()
    return CombinationPlan(runs, weights, combination, density, out, adapter_only, dtype)


def parse_weights(text: str | None) -> list[float] | None:
    """``"0.7,0.3"`` -> ``[0.7, 0.3]``; None stays None (equal weights)."""
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise PeftctlError(
            f"--weights {text}: give numbers separated by commas, e.g. 0.7,0.3"
        ) from None


def _density(combination: str, density: float | None) -> float | None:
    if combination != "ties":
        if density is not None:
            raise PeftctlError("--density applies to --combination ties only; drop it")
        return None
    density = 0.5 if density is None else density
    if not 0 < density <= 1:
        raise PeftctlError(f"--density {density} must be in (0, 1]: the share of values kept")
    return density


def _lora_config(run: MergePlan) -> dict[str, Any]:
    """The run's adapter_config.json, refused unless it is a plain LoRA adapter."""
    from peftctl.file_checks import damaged_files

    path = run.adapter_dir / PEFT_CONFIG
    with damaged_files(run.adapter_dir, DAMAGED):
        saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    kind = "DoRA" if saved.get("use_dora") else "rank-stabilised" if saved.get("use_rslora") else ""
    if saved.get("peft_type") != "LORA" or kind:
        what = f"a {kind} LoRA" if kind else f"a {saved.get('peft_type') or run.spec.name}"
        raise PeftctlError(
            f"{run.run_dir} holds {what} adapter (method {run.spec.name}); several runs combine "
            "only plain LoRA adapters (lora, loraplus, pissa without use_rslora)"
        )
    return saved


def _check_same_base(runs: list[MergePlan]) -> None:
    from peftctl.facts.names import model_identity

    first = runs[0]
    for run in runs[1:]:
        if model_identity(run.config.model.name) != model_identity(first.config.model.name):
            raise PeftctlError(
                f"{first.run_dir} and {run.run_dir} have different base models "
                f"({first.config.model.name}, {run.config.model.name}); combine runs of one model"
            )


def _check_equal_ranks(runs: list[MergePlan], configs: list[dict], combination: str) -> None:
    ranks = [max([c["r"], *(c.get("rank_pattern") or {}).values()]) for c in configs]
    if len(set(ranks)) > 1:
        shown = ", ".join(f"{run.run_dir} r={r}" for run, r in zip(runs, ranks, strict=True))
        raise PeftctlError(
            f"--combination {combination} needs equal ranks ({shown}); use --combination cat"
        )


def combine_runs(plan: CombinationPlan) -> dict[str, Any]:
    """Load the base model and every run's adapter, combine them, and write ``plan.out_dir``
    (a standalone model, or with ``adapter_only`` a run directory); returns ``merge.json``."""
    import torch

    from peftctl.export.merging import save_standalone, torch_dtype
    from peftctl.models.loading import load_model, load_tokenizer

    base = plan.runs[0].config.model
    tokenizer = load_tokenizer(base.name, trust_remote_code=base.trust_remote_code)
    model = load_model(base.name, dtype=torch.float32, trust_remote_code=base.trust_remote_code)
    combined = _combined(model, plan)
    card = _card(plan, combined.peft_config[COMBINED].r)
    if plan.adapter_only:
        _save_run(plan, combined, card)
    else:
        merged = combined.merge_and_unload().to(torch_dtype(plan.dtype)).eval()
        save_standalone(plan.out_dir, merged, tokenizer, card)
    return card


def _combined(model: Any, plan: CombinationPlan) -> Any:
    """``model`` with one peft adapter, :data:`COMBINED`, made from every run's adapter."""
    from peft import PeftModel

    from peftctl.file_checks import damaged_files

    names = [f"run{i}" for i in range(len(plan.runs))]
    first, *rest = plan.runs
    with damaged_files(first.adapter_dir, DAMAGED):
        peft_model = PeftModel.from_pretrained(model, str(first.adapter_dir), adapter_name=names[0])
    for name, run in zip(names[1:], rest, strict=True):
        with damaged_files(run.adapter_dir, DAMAGED):
            peft_model.load_adapter(str(run.adapter_dir), adapter_name=name)
    peft_model.add_weighted_adapter(
        names,
        plan.weights,
        adapter_name=COMBINED,
        combination_type=plan.combination,
        density=plan.density,
    )
    peft_model.set_adapter(COMBINED)
    for name in names:
        peft_model.delete_adapter(name)
    return peft_model


def _save_run(plan: CombinationPlan, peft_model: Any, card: dict[str, Any]) -> None:
    """``adapter/``, a LoRA ``recipe.yaml`` describing it, and ``merge.json``, atomically."""
    from peftctl.config.recipe import build_recipe, dump_recipe
    from peftctl.export.merging import write_card
    from peftctl.methods.base import write_dir_atomically
    from peftctl.run_files import ADAPTER, RECIPE, command_line
    from peftctl.typed import to_plain

    saved = peft_model.peft_config[COMBINED]
    recipe = to_plain(plan.runs[0].config)
    recipe["method"] = {
        "name": "lora",
        "r": saved.r,
        "alpha": saved.lora_alpha,
        "target_modules": sorted(saved.target_modules),
        "bias": saved.bias,
    }
    recipe["output_dir"] = str(plan.out_dir)
    config = build_recipe(recipe)

    def write(folder: Path) -> None:
        peft_model.save_pretrained(str(folder / ADAPTER), safe_serialization=True)
        (folder / RECIPE).write_text(dump_recipe(config, command_line()), encoding="utf-8")
        write_card(folder, card)

    write_dir_atomically(plan.out_dir, write)


def _card(plan: CombinationPlan, rank: int) -> dict[str, Any]:
    from peftctl.run_files import versions

    first = plan.runs[0]
    return {
        "source_runs": [str(run.run_dir.resolve()) for run in plan.runs],
        "methods": [run.spec.name for run in plan.runs],
        "weights": plan.weights,
        "combination": plan.combination,
        "density": plan.density,
        "rank": rank,
        "base_model": first.config.model.name,
        "adapter_only": plan.adapter_only,
        "dtype": None if plan.adapter_only else plan.dtype,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions("torch", "transformers", "peft", "peftctl"),
    }
