"""``peftctl show-dataset``: rendered prompts and targets exactly as the model sees them."""

from __future__ import annotations

import json

import typer

from peftctl.errors import PeftctlError


def show_dataset(
    name: str = typer.Argument(
        ...,
        help="A registered dataset (peftctl list-datasets), or a YAML file defining one "
        "(a dataset section or a recipe).",
    ),
    split: str = typer.Option("eval", "--split", "-s", help="train, eval or test."),
    n: int = typer.Option(3, "--n", "-n", min=1, help="How many examples to print."),
    model: str = typer.Option(
        None, "--model", "-m", help="Also print the text as this model's tokenizer renders it."
    ),
    data_dir: str = typer.Option(None, "--data-dir", help="Local data folder (default: env)."),
    split_from: str = typer.Option(
        None, "--split-from", help="Carve train out of this split (see dataset.split_from)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
) -> None:
    """Print the first N examples of a split as prompt and target."""
    from peftctl import typed
    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.definitions import expand_section
    from peftctl.datasets.loading import SPLITS, dataset_spec, load_split

    if split not in SPLITS:
        raise PeftctlError(f"--split must be one of {', '.join(SPLITS)}, not '{split}'")
    given = {"name": name, "data_dir": data_dir, "split_from": split_from}
    section = expand_section({k: v for k, v in given.items() if v is not None})
    cfg = typed.build(DatasetConfig, section, "dataset")
    spec = dataset_spec(cfg)
    examples = load_split(cfg, split)
    shown = examples[:n]
    rendered = _chat_texts(model, shown) if model else [None] * len(shown)
    if as_json:
        records = [
            {"id": ex.id, "prompt": ex.prompt, "target": ex.target, "label": ex.label}
            | ({"rendered": text} if text is not None else {})
            for ex, text in zip(shown, rendered, strict=True)
        ]
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    classes = f", classes: {' / '.join(spec.verbalizers)}" if spec.verbalizers else ""
    typer.echo(
        f"{spec.name} ({spec.task}{classes}; metrics: {', '.join(spec.metrics)})\n"
        f"{split} = {examples.origin['split']}: {len(examples)} examples from "
        f"{examples.origin['source']}"
        + (f", carved {examples.origin['carved']}" if "carved" in examples.origin else "")
    )
    for ex, text in zip(shown, rendered, strict=True):
        typer.echo(f"\n----- example {ex.id} -----")
        typer.echo(f"[prompt]\n{ex.prompt}\n[target]\n{ex.target}")
        if text is not None:
            typer.echo(f"[as {model} sees it]\n{text}")


def _chat_texts(model: str, examples) -> list[str]:
    """Prompt + target + eos as ``model``'s tokenizer renders them."""
    from peftctl.datasets.tokenize import render_prompts
    from peftctl.models.loading import load_tokenizer

    tokenizer = load_tokenizer(model)
    prompts = render_prompts(tokenizer, [ex.prompt for ex in examples])
    eos = tokenizer.eos_token or ""
    return [f"{p}{ex.target}{eos}" for p, ex in zip(prompts, examples, strict=True)]


def register(app: typer.Typer) -> None:
    app.command("show-dataset")(show_dataset)
