"""``peftctl eval``: score a finished run, or a model with zero or more adapters."""

from __future__ import annotations

import typer

from peftctl.errors import PeftctlError

TARGET_ARG = typer.Argument(
    None,
    help="RUN_DIR (a finished `peftctl train` run), then optional overrides such as "
    "eval.mode=rank dataset.max_eval_samples=100.",
)
ADAPTER_OPTION = typer.Option(
    None, "--adapter", "-a", help="Run or adapter directory; repeat to compare several."
)


def eval_command(
    target: list[str] = TARGET_ARG,
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Model to score (alias, hub id, directory or .gguf) with --dataset.",
    ),
    adapter: list[str] = ADAPTER_OPTION,
    method: str = typer.Option(
        None, "--method", help="Method that saved a bare --adapter directory (no recipe beside)."
    ),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Registered dataset to score on."),
    split: str = typer.Option(None, "--split", help="eval (default) or test."),
    limit: int = typer.Option(
        None, "--limit", "-n", min=1, help="Score a seeded sample of N examples."
    ),
    mode: str = typer.Option(None, "--mode", help="generate (default) or rank."),
    batch_size: int = typer.Option(None, "--batch-size", "-b", help="Examples per batch."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated metric names."),
    max_new_tokens: int = typer.Option(None, "--max-new-tokens", help="Longest answer."),
    output_dir: str = typer.Option(
        None, "--output-dir", "-o", help="Where metrics.json and predictions.jsonl go."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Score predictions (metrics.json, predictions.jsonl) and print a table.

    `peftctl eval RUN_DIR` uses the run's recipe; `peftctl eval --model M --dataset D
    [--adapter DIR ...]` scores anything.
    """
    from peftctl.evaluation.targets import model_target, run_dir_target

    run_dir, overrides = _split_target(target or [])
    overrides += _option_overrides(split, limit, mode, batch_size, metrics, max_new_tokens)
    if run_dir is not None:
        if model or adapter or dataset or method:
            raise PeftctlError(
                "RUN_DIR brings its own model, adapter and dataset; drop --model/--adapter/"
                "--dataset/--method, or drop RUN_DIR"
            )
        config, candidates = run_dir_target(run_dir, overrides, output_dir)
    elif dataset is None:
        raise PeftctlError("nothing to evaluate: give a RUN_DIR, or --dataset NAME (with --model)")
    else:
        from peftctl.facts.names import DEFAULT_MODEL

        config, candidates = model_target(
            model or DEFAULT_MODEL,
            dataset,
            adapter or [],
            method=method,
            overrides=overrides,
            output_dir=output_dir,
        )
    from peftctl.evaluation.runner import evaluate

    results = evaluate(config, candidates, quiet=quiet)
    print_results(results, as_json=as_json)


def print_results(results: list, *, as_json: bool = False) -> None:
    """One row per candidate: every metric, invalid rate, examples/s and where files went."""
    from peftctl.cli.listing import print_records

    rows, metric_names = [], []
    for result in results:
        summary = result.summary
        metric_names += [m for m in result.metrics if m not in metric_names]
        rows.append(
            {
                "model": result.candidate,
                **{name: round(value, 4) for name, value in result.metrics.items()},
                "invalid": f"{summary['invalid_rate']:.1%}",
                "n": summary["examples"],
                "ex/s": f"{summary['examples_per_second']:.1f}",
                "results": summary["output_dir"],
            }
        )
    first = results[0].summary if results else {}
    title = f"{first.get('dataset')} {first.get('split')} ({first.get('mode')} mode)"
    columns = ["model", *metric_names, "invalid", "n", "ex/s", "results"]
    print_records(title, columns, rows, as_json)


def _split_target(target: list[str]) -> tuple[str | None, list[str]]:
    """(RUN_DIR or None, overrides): words with '=' are overrides."""
    paths = [word for word in target if "=" not in word]
    if len(paths) > 1:
        raise PeftctlError(
            f"give one RUN_DIR, not {len(paths)} ({', '.join(paths)}); to compare runs use "
            "--dataset with one --adapter per run"
        )
    return (paths[0] if paths else None), [word for word in target if "=" in word]


def _option_overrides(split, limit, mode, batch_size, metrics, max_new_tokens) -> list[str]:
    pairs = {
        "eval.split": split,
        "dataset.max_eval_samples": limit,
        "eval.mode": mode,
        "eval.batch_size": batch_size,
        "dataset.metrics": f"[{metrics}]" if metrics else None,
        "eval.max_new_tokens": max_new_tokens,
    }
    return [f"{key}={value}" for key, value in pairs.items() if value is not None]


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
