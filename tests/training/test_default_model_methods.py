"""Methods train the real default model: ``peftctl train <method>_sst2`` for 3 steps.

CI runs :data:`FAST`; ``nox -s methods`` runs every registered method
(``PEFTCTL_TEST_METHODS=all``, or a comma-separated list of names).
"""

from __future__ import annotations

import json
import math
import os

import pytest

from peftctl.cli import main
from peftctl.facts.arch import DEFAULT_ARCH
from peftctl.plugin_manager import get_plugins

FAST = ("lora", "ia3", "prompt_tuning")


def selected_methods() -> list[str]:
    chosen = os.environ.get("PEFTCTL_TEST_METHODS", "").strip()
    if chosen == "all":
        get_plugins.cache_clear()
        return get_plugins().methods.names()
    return [name.strip() for name in chosen.split(",") if name.strip()] or list(FAST)


@pytest.mark.slow
@pytest.mark.parametrize("method", selected_methods())
def test_method_trains_the_default_model_3_steps(method, tmp_path, capsys):
    from peftctl.config.recipe import load_recipe

    out = tmp_path / method
    overrides = [
        "train.max_steps=3",
        "train.batch_size=2",
        "train.precision=fp32",
        "dataset.max_train_samples=6",
        "dataset.max_eval_samples=2",
        "dataset.cutoff_len=64",
        "train.eval_every=0",
        "train.save_every=0",
        "eval.at_start=false",
        "eval.after_train=false",
        f"output_dir={out}",
    ]
    recipe = load_recipe(f"{method}_sst2", overrides)
    assert recipe.model.name == "smollm2-135m-instruct"
    get_plugins.cache_clear()
    try:
        main(["train", f"{method}_sst2", *overrides, "--quiet"])
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err[-2000:]
    card = json.loads((out / "run.json").read_text())
    assert card["training"]["steps"] == 3
    assert math.isfinite(card["training"]["final_train_loss"])
    assert any((out / "adapter").iterdir())
    estimate = recipe.method.trainable_estimate(DEFAULT_ARCH)
    if estimate is not None:  # list-methods' figure is what really trains
        assert card["parameters"]["trainable"] == estimate
