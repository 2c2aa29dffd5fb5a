"""``peftctl export RUN_DIR --format gguf``: a finished run for llama.cpp, Ollama, peft or HF."""

from __future__ import annotations

import typer

FORMAT_HELP = (
    "gguf: merged model for llama.cpp/Ollama; gguf-lora: LoRA adapter for llama.cpp --lora; "
    "peft: adapter directory; merged: HF safetensors directory."
)


def export(
    run_dir: str = typer.Argument(..., help="Output directory of a finished `peftctl train`."),
    fmt: str = typer.Option("gguf", "--format", "-f", help=FORMAT_HELP),
    quant: str = typer.Option(
        None,
        "--quant",
        help="gguf: f16 (default), f32, q8_0; gguf-lora: f32 (default), f16; merged: f32, f16.",
    ),
    output: str = typer.Option(
        None, "--output", "-o", help="File (gguf formats) or directory; default RUN_DIR/export/."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    ollama: bool = typer.Option(False, "--ollama", help="Also write an Ollama Modelfile (gguf)."),
) -> None:
    """Export RUN_DIR's adapter, alone or merged into its base model."""
    from peftctl.export.plan import plan_export
    from peftctl.export.run import export_run

    plan = plan_export(run_dir, fmt, quant=quant, output=output, overwrite=overwrite, ollama=ollama)
    result = export_run(plan)
    typer.echo(f"wrote {result.output} ({result.nbytes / 1e6:.1f} MB: {result.contents})")
    if result.modelfile is not None:
        typer.echo(f"wrote {result.modelfile}; run: ollama create NAME -f {result.modelfile}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
