"""``peftctl merge RUN_DIR OUT_DIR``: a finished run as a standalone Hugging Face model;
``peftctl merge RUN_A RUN_B ... OUT_DIR``: several LoRA runs combined into one."""

from __future__ import annotations

import typer

from peftctl.errors import PeftctlError

PATHS_ARG = typer.Argument(
    ...,
    metavar="RUN_DIR... OUT_DIR",
    help="Output directories of finished `peftctl train` runs, then the directory to write.",
)


def merge(
    paths: list[str] = PATHS_ARG,
    dtype: str = typer.Option("fp32", "--dtype", help="Weights to save: fp32, bf16 or fp16."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty OUT_DIR."),
    weights: str = typer.Option(
        None, "--weights", "-w", help="Several runs: one weight per run, e.g. 0.7,0.3 (equal)."
    ),
    combination: str = typer.Option(
        "linear", "--combination", help="Several runs: linear, ties or cat (peft's rules)."
    ),
    density: float = typer.Option(
        None, "--density", help="ties: share of each update's largest values kept (0.5)."
    ),
    adapter_only: bool = typer.Option(
        False, "--adapter-only", help="Several runs: write the combined adapter as a run directory."
    ),
) -> None:
    """Fold RUN_DIR's adapter into its base model and save model + tokenizer to OUT_DIR; with
    several LoRA runs, combine their adapters first (add_weighted_adapter)."""
    paths = paths or []
    if len(paths) < 2:
        raise PeftctlError("give RUN_DIR and OUT_DIR (or several RUN_DIRs, then OUT_DIR)")
    *runs, out_dir = paths
    if len(runs) == 1:
        if weights or density is not None or adapter_only or combination != "linear":
            raise PeftctlError(
                "--weights, --combination, --density and --adapter-only combine several runs; "
                "give two or more RUN_DIRs"
            )
        return _merge_one(runs[0], out_dir, dtype, overwrite)
    from peftctl.export.combining import combine_runs, parse_weights, plan_combination

    plan = plan_combination(
        runs,
        out_dir,
        weights=parse_weights(weights),
        combination=combination,
        density=density,
        adapter_only=adapter_only,
        dtype=dtype,
        overwrite=overwrite,
    )
    card = combine_runs(plan)
    shares = ", ".join(f"{w:g} x {r.run_dir}" for w, r in zip(plan.weights, plan.runs, strict=True))
    what = "adapter (a run directory)" if adapter_only else f"model ({card['dtype']})"
    typer.echo(
        f"combined {shares} ({plan.combination}, rank {card['rank']}) into {plan.out_dir}: {what}"
    )


def _merge_one(run_dir: str, out_dir: str, dtype: str, overwrite: bool) -> None:
    from peftctl.export.merging import merge_run, plan_merge

    plan = plan_merge(run_dir, out_dir, dtype=dtype, overwrite=overwrite)
    card = merge_run(plan)
    typer.echo(
        f"merged {card['method']} run {plan.run_dir} into {plan.out_dir} "
        f"({card['parameters']:,} parameters, {card['dtype']}); load it with "
        f"AutoModelForCausalLM.from_pretrained('{plan.out_dir}')"
    )


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)
