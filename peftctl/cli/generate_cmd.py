"""``peftctl generate`` (one answer) and ``peftctl chat`` (a conversation) with a run's
model and adapter, or any model with an optional adapter."""

from __future__ import annotations

import sys

import typer

from peftctl.errors import PeftctlError

RUN_ARG = typer.Argument(None, help="RUN_DIR of a finished `peftctl train` (model + adapter).")
MODEL_OPTION = typer.Option(
    None, "--model", "-m", help="Model without RUN_DIR (alias, hub id, directory or .gguf file)."
)
ADAPTER_OPTION = typer.Option(None, "--adapter", "-a", help="Run or adapter directory for --model.")
METHOD_OPTION = typer.Option(
    None, "--method", help="Method that saved a bare --adapter directory (no recipe beside)."
)
MAX_NEW_TOKENS_OPTION = typer.Option(256, "--max-new-tokens", min=1, help="Longest answer.")
TEMPERATURE_OPTION = typer.Option(
    0.0, "--temperature", min=0.0, help="0 = greedy; above 0 samples."
)
PRECISION_OPTION = typer.Option(
    None, "--precision", help="auto (bf16 where fast, else fp32), fp32, bf16 or fp16."
)


def generate(
    run_dir: str = RUN_ARG,
    prompt: str = typer.Option(..., "--prompt", "-p", help="The prompt; '-' reads stdin."),
    model: str = MODEL_OPTION,
    adapter: str = ADAPTER_OPTION,
    method: str = METHOD_OPTION,
    raw: bool = typer.Option(False, "--raw", help="Send the prompt as is, without chat template."),
    max_new_tokens: int = MAX_NEW_TOKENS_OPTION,
    temperature: float = TEMPERATURE_OPTION,
    precision: str = PRECISION_OPTION,
) -> None:
    """Print the model's answer to one prompt (rendered with its chat template unless --raw)."""
    from peftctl.evaluation.targets import inference_target

    text = sys.stdin.read().removesuffix("\n") if prompt == "-" else prompt
    if not text.strip():
        raise PeftctlError("the prompt is empty; pass --prompt TEXT (or '-' with text on stdin)")
    config, candidate = inference_target(
        run_dir, model=model, adapter=adapter, method=method, overrides=_overrides(precision)
    )
    from peftctl.inference.completion import complete, encode_prompt, load_talker

    talker = load_talker(config, candidate)
    ids = encode_prompt(talker, text, raw=raw)
    typer.echo(complete(talker, ids, max_new_tokens=max_new_tokens, temperature=temperature))


def chat(
    run_dir: str = RUN_ARG,
    model: str = MODEL_OPTION,
    adapter: str = ADAPTER_OPTION,
    method: str = METHOD_OPTION,
    max_new_tokens: int = MAX_NEW_TOKENS_OPTION,
    temperature: float = TEMPERATURE_OPTION,
    precision: str = PRECISION_OPTION,
) -> None:
    """Chat in the terminal: answers stream as they are generated, /reset clears the history,
    /quit or Ctrl-D exits, Ctrl-C stops an answer."""
    from peftctl.evaluation.targets import inference_target

    config, candidate = inference_target(
        run_dir, model=model, adapter=adapter, method=method, overrides=_overrides(precision)
    )
    from peftctl.inference.chat import chat_loop
    from peftctl.inference.completion import load_talker

    talker = load_talker(config, candidate)
    chat_loop(talker, max_new_tokens=max_new_tokens, temperature=temperature)


def _overrides(precision: str | None) -> list[str]:
    return [] if precision is None else [f"train.precision={precision}"]


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.command("chat")(chat)
