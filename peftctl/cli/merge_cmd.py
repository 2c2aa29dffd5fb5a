"""``peftctl merge RUN_DIR OUT_DIR``: a finished run as a standalone Hugging Face model."""

from __future__ import annotations

import typer


def merge(
    run_dir: str = typer.Argument(..., help="Output directory of a finished `peftctl train`."),
    out_dir: str = typer.Argument(..., help="Directory for the merged model (HF format)."),
    dtype: str = typer.Option("fp32", "--dtype", help="Weights to save: fp32, bf16 or fp16."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty OUT_DIR."),
) -> None:
    """Fold RUN_DIR's adapter into its base model and save model + tokenizer to OUT_DIR."""
    from peftctl.methods.merging import merge_run, plan_merge

    plan = plan_merge(run_dir, out_dir, dtype=dtype, overwrite=overwrite)
    card = merge_run(plan)
    typer.echo(
        f"merged {card['method']} run {plan.run_dir} into {plan.out_dir} "
        f"({card['parameters']:,} parameters, {card['dtype']}); load it with "
        f"AutoModelForCausalLM.from_pretrained('{plan.out_dir}')"
    )


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)
