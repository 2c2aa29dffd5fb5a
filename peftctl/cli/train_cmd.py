"""``peftctl train``, ``peftctl validate`` and ``peftctl recipes list|cp``.

Validation and recipe commands never import torch; ``train`` imports the worker only
after the recipe is valid.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from peftctl.errors import PeftctlError

RECIPE_ARG = typer.Argument(..., help="Recipe name (see `peftctl recipes list`) or YAML path.")
OVERRIDES_ARG = typer.Argument(
    None, help="Dotted overrides such as train.lr=1e-4 method.r=16 dataset.max_train_samples=500."
)

recipes_app = typer.Typer(
    help="List and copy the installed recipes.", no_args_is_help=True, rich_markup_mode=None
)


def train(
    recipe: str = RECIPE_ARG,
    overrides: list[str] = OVERRIDES_ARG,
    resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output_dir."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Fine-tune a model as RECIPE says; several processes: `accelerate launch -m peftctl train`."""
    from peftctl.config.recipe import load_recipe

    config = load_recipe(recipe, overrides or [])
    from peftctl.training.run import run_training

    card = run_training(config, resume=resume, overwrite=overwrite, quiet=quiet)
    if not quiet and _is_main_process():
        _print_summary(config.output_dir, card)


def validate(
    recipe: str = RECIPE_ARG,
    overrides: list[str] = OVERRIDES_ARG,
    show: bool = typer.Option(False, "--show", help="Print the resolved recipe as YAML."),
) -> None:
    """Check RECIPE and overrides, and that its model and dataset can be had, without
    loading anything heavy."""
    from peftctl.config.recipe import dump_recipe, load_recipe
    from peftctl.recipes.finder import find_recipe

    config = load_recipe(recipe, overrides or [])
    from peftctl.training.parent import check_parent

    check_parent(config)
    from peftctl.training.preflight import check_inputs_available

    check_inputs_available(config)
    if show:
        typer.echo(dump_recipe(config), nl=False)
    typer.echo(
        f"ok: {find_recipe(recipe)} (method {config.method.name}, model {config.model.name}, "
        f"dataset {config.dataset.name}, output_dir {config.output_dir})"
    )


@recipes_app.command("list")
def list_recipes(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of a table."),
) -> None:
    """List the recipes of the core and of installed plugins."""
    from peftctl.cli.listing import print_records
    from peftctl.recipes.finder import first_comment_command, installed_recipes
    from peftctl.yaml_files import read_yaml

    rows = []
    for name, (path, package) in sorted(installed_recipes().items()):
        data = read_yaml(path)
        rows.append(
            {
                "name": name,
                "method": (data.get("method") or {}).get("name", ""),
                "dataset": (data.get("dataset") or {}).get("name", ""),
                "package": package,
                "command": first_comment_command(path),
                "path": str(path),
            }
        )
    print_records("Recipes", ["name", "method", "dataset", "package", "command"], rows, as_json)


@recipes_app.command("cp")
def copy_recipe(
    name: str = typer.Argument(..., help="Registered recipe name."),
    dest: str = typer.Argument(..., help="Target file, or a directory to copy into."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Copy recipe NAME to DEST to edit it."""
    from peftctl.errors import unknown_name
    from peftctl.recipes.finder import recipe_index

    index = recipe_index()
    if name not in index:
        raise unknown_name("recipe", name, index, "see `peftctl recipes list`")
    destination = Path(dest).expanduser()
    target = destination / index[name].name if destination.is_dir() else destination
    if target.suffix not in (".yaml", ".yml"):
        target = target.with_suffix(".yaml")
    if target.exists() and not force:
        raise PeftctlError(f"{target} exists; pass --force to replace it or choose another DEST")
    if not target.parent.is_dir():
        raise PeftctlError(f"directory {target.parent} does not exist; create it first")
    shutil.copyfile(index[name], target)
    typer.echo(f"copied {name} to {target}")


def _is_main_process() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def _print_summary(output_dir: str, card: dict) -> None:
    training = card["training"]
    best = training["best_eval_loss"]
    lines = [
        f"done: {training['steps']} steps, {training['tokens_per_second']:,.0f} tokens/s, "
        f"precision {card['precision']['chosen']}",
        f"eval loss: final {_fmt(training['final_eval_loss'])}, best {_fmt(best)} "
        f"(step {training['best_step']}); adapter/ from step {training['adapter_step']}",
        f"results in {output_dir}/ (adapter/, run.json, log.jsonl, recipe.yaml)",
    ]
    evaluation = card.get("evaluation")
    if evaluation:
        scores = ", ".join(f"{k} {v:.4f}" for k, v in evaluation["metrics"].items())
        lines.append(
            f"{evaluation['split']} ({evaluation['mode']}, {evaluation['examples']} examples): "
            f"{scores}; invalid {evaluation['invalid_rate']:.1%} (metrics.json, predictions.jsonl)"
        )
    typer.echo("\n".join(lines))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("validate")(validate)
    app.add_typer(recipes_app, name="recipes")
