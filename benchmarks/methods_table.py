"""One table for every installed method on the default model, same data and batch for all:
trainable parameters, s/step, tokens/s, peak RSS, and SST-2 validation accuracy (rank and
generate modes) after a short fixed budget.

Each method runs ``peftctl train <method>_sst2`` in its own process (so peak RSS is its own),
with the same overrides; methods without a ``<method>_sst2`` recipe are skipped.

Run: python benchmarks/methods_table.py [--steps 30] [--eval 200] [--methods lora,ia3]
     [--train-only]   (cost columns only: no scoring, accuracy columns left empty)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def train(method: str, out: Path, steps: int, n_eval: int, batch: int, score: bool) -> dict:
    """Run one method's recipe with the shared budget; its run card."""
    overrides = [
        f"output_dir={out}",
        f"train.max_steps={steps}",
        f"train.batch_size={batch}",
        "train.eval_every=0",
        "train.save_every=0",
        "train.gradient_checkpointing=false",
        f"dataset.max_train_samples={steps * batch}",
        f"dataset.max_eval_samples={n_eval}",
        "dataset.cutoff_len=256",
        f"eval.after_train={str(score).lower()}",
        "eval.mode=rank",
    ]
    command = [sys.executable, "-m", "peftctl", "train", f"{method}_sst2", *overrides, "-q"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    return json.loads((out / "run.json").read_text())


def generate_accuracy(out: Path) -> float:
    """Accuracy of the same adapter in generate mode (the paper's protocol)."""
    target = out / "generate"
    command = [sys.executable, "-m", "peftctl", "eval", str(out), "eval.mode=generate", "-o"]
    subprocess.run([*command, str(target), "-q", "--json"], capture_output=True, check=True)
    return json.loads((target / "metrics.json").read_text())["metrics"]["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--eval", type=int, default=200, help="SST-2 validation examples")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--methods", default="", help="comma-separated; default: all")
    parser.add_argument("--train-only", action="store_true", help="no scoring: cost columns")
    args = parser.parse_args()

    from peftctl.plugin_manager import get_plugins
    from peftctl.recipes.finder import recipe_index

    recipes = recipe_index()
    names = args.methods.split(",") if args.methods else get_plugins().methods.names()
    header = (
        "| method | trainable | s/step | tokens/s | peak RSS GB | acc rank | acc generate "
        "| batching |"
    )
    print(f"{args.steps} steps x batch {args.batch_size}, {args.eval} SST-2 validation rows")
    print(header + "\n|" + "---|" * 8, flush=True)
    for name in names:
        if f"{name}_sst2" not in recipes:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / name
            try:
                score = not args.train_only
                card = train(name, out, args.steps, args.eval, args.batch_size, score)
                acc_generate = generate_accuracy(out) if score else None
            except (RuntimeError, subprocess.CalledProcessError) as error:
                print(f"| {name} | failed: {error} |", flush=True)
                continue
        training = card["training"]
        accuracy = (
            f"{card['evaluation']['metrics']['accuracy']:.3f} | {acc_generate:.3f}"
            if acc_generate is not None
            else " | "
        )
        print(
            f"| {name} | {card['parameters']['trainable']:,} "
            f"| {training['train_seconds'] / max(training['steps'], 1):.2f} "
            f"| {training['tokens_per_second']:.0f} "
            f"| {card['memory']['peak_rss_bytes'] / 1e9:.2f} "
            f"| {accuracy} | {training['batching']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
