"""The contract kit over LN tuning, and its recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestLnTuning(MethodContract):
    method_name = "lntuning"


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("lntuning_sst2")
    assert recipe.command == "peftctl train lntuning_sst2"
    assert recipe.config.method.name == "lntuning" and recipe.config.dataset.name == "sst2"


def test_all_linear_is_refused_by_validate_in_one_line(tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-m", "peftctl", "validate", "lntuning_sst2"]
    done = subprocess.run(
        [*argv, "method.target_modules=[all-linear]"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "error: method.target_modules=[all-linear] names linear layers; LN tuning trains norm "
        "layers: name them (e.g. [input_layernorm, post_attention_layernorm]) or use "
        "role:norms for every norm\n"
    )
