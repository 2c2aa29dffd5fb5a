"""What ``peftctl eval`` scores (a finished run, or a model with adapters) and what
``peftctl generate``/``chat`` talk to. No torch here, so every mistake is reported before a
model is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from peftctl.config.recipe import build_recipe, load_recipe
from peftctl.config.schema import RecipeConfig
from peftctl.errors import PeftctlError
from peftctl.evaluation.runner import Candidate
from peftctl.methods.base import MethodConfig
from peftctl.run_files import ADAPTER, RECIPE


def run_dir_target(
    run_dir: str, overrides: Sequence[str] = (), output_dir: str | None = None
) -> tuple[RecipeConfig, list[Candidate]]:
    """A finished run scored with its own recipe (``overrides`` such as ``eval.mode=rank``)."""
    run = Path(run_dir).expanduser()
    if not (run / RECIPE).is_file():
        raise PeftctlError(
            f"{run} is not a run directory (no {RECIPE}); pass the output_dir of "
            "`peftctl train`, or --model/--adapter instead"
        )
    adapter = _adapter_dir(run)
    config = load_recipe(run / RECIPE, overrides)
    out = _output_dir(output_dir) if output_dir else run
    return config, [Candidate(run.name, out, adapter, config.method)]


def _output_dir(output_dir: str) -> Path:
    """``--output-dir``, refused before any scoring when it names a file."""
    out = Path(output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise PeftctlError(
            f"--output-dir {output_dir} is a file; give a directory for metrics.json and "
            "predictions.jsonl"
        )
    return out


def model_target(
    model: str,
    dataset: str,
    adapters: Sequence[str] = (),
    *,
    method: str | None = None,
    overrides: Sequence[str] = (),
    output_dir: str | None = None,
) -> tuple[RecipeConfig, list[Candidate]]:
    """``model`` alone, or each of ``adapters`` on it, scored on ``dataset``."""
    config = build_recipe({"model": {"name": model}, "dataset": {"name": dataset}}, overrides)
    out = _output_dir(output_dir) if output_dir else _default_output(config)
    if not adapters:
        return config, [Candidate("base", out)]
    found = [_adapter(path, method) for path in adapters]
    names = _unique_names([name for name, _, _ in found])
    single = len(found) == 1
    candidates = [
        Candidate(name, out if single else out / name, adapter_dir, method_config)
        for name, (_, adapter_dir, method_config) in zip(names, found, strict=True)
    ]
    return config, candidates


def inference_target(
    run_dir: str | None,
    *,
    model: str | None = None,
    adapter: str | None = None,
    method: str | None = None,
    overrides: Sequence[str] = (),
) -> tuple[RecipeConfig, Candidate]:
    """What ``peftctl generate``/``chat`` load: a finished run's model and adapter, or
    ``model`` (the default model when None) with an optional run or adapter directory;
    ``overrides`` such as ``train.precision=fp32`` apply to the recipe."""
    if run_dir is not None:
        if model or adapter or method:
            raise PeftctlError(
                "RUN_DIR brings its own model and adapter; drop --model/--adapter/--method, "
                "or drop RUN_DIR"
            )
        config, candidates = run_dir_target(run_dir, overrides)
        return config, candidates[0]
    from peftctl.facts.names import DEFAULT_MODEL

    config = build_recipe({"model": {"name": model or DEFAULT_MODEL}}, overrides)
    if adapter is None:
        if method:
            raise PeftctlError("--method names the method of an --adapter; pass --adapter DIR")
        return config, Candidate("base", Path("."))
    name, adapter_dir, method_config = _adapter(adapter, method)
    return config, Candidate(name, Path("."), adapter_dir, method_config)


def _adapter(path: str, method: str | None) -> tuple[str, Path, MethodConfig]:
    """(display name, adapter directory, method options) of a run or adapter directory."""
    given = Path(path).expanduser()
    if not given.is_dir():
        raise PeftctlError(f"--adapter {path}: no such directory")
    run = given if (given / RECIPE).is_file() else given.parent
    if (run / RECIPE).is_file():
        adapter = _adapter_dir(run) if run == given else given
        recipe_method = load_recipe(run / RECIPE).method
        if method and method != recipe_method.name:
            raise PeftctlError(
                f"--method {method} contradicts {run / RECIPE} (method "
                f"{recipe_method.name}); drop --method"
            )
        return run.name, adapter, recipe_method
    if not method:
        raise PeftctlError(
            f"--adapter {path}: no {RECIPE} beside it says which method saved it; "
            "pass --method NAME"
        )
    return given.name, given, build_recipe({"method": {"name": method}}).method


def _adapter_dir(run: Path) -> Path:
    adapter = run / ADAPTER
    if not adapter.is_dir():
        raise PeftctlError(
            f"{run} has no {ADAPTER}/ (the run did not finish); resume it with "
            "`peftctl train --resume` or evaluate a finished run"
        )
    return adapter


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def _default_output(config: RecipeConfig) -> Path:
    model = Path(config.model.name).name or "model"
    return (
        Path("runs")
        / "eval"
        / f"{model}_{config.dataset.name}_{config.eval.split}_{config.eval.mode}"
    )
