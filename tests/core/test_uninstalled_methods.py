"""``pip uninstall peftctl-<x>`` removes exactly that package's methods and recipes from every
listing, and whatever needs them (a recipe, a run) names the package to install."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from peftctl import plugin_manager
from peftctl.standard_packages import STANDARD

OLD_RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "old_runs"
VERA_MISSING = (
    "comes from the package peftctl-vera, which is not installed: pip install peftctl-vera"
)


@pytest.fixture
def uninstall(monkeypatch) -> Callable[[str], None]:
    """``uninstall("peftctl-vera")``: the distribution's entry points and modules are gone, as
    after ``pip uninstall`` (for this test only)."""
    gone: set[str] = set()
    entry_points = plugin_manager.entry_points

    def installed_entry_points(group: str):
        return [ep for ep in entry_points(group) if ep.dist not in gone]

    monkeypatch.setattr(plugin_manager, "entry_points", installed_entry_points)

    def remove(dist: str) -> None:
        gone.add(dist)
        module = dist.replace("-", "_")
        for name in [m for m in sys.modules if m == module or m.startswith(f"{module}.")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, module, None)  # importing it fails

    return remove


def listed(cli, *argv: str) -> list[dict]:
    code, out, err = cli(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_uninstalling_a_package_removes_exactly_its_methods_and_recipes(cli, uninstall):
    methods = {m["name"]: m["package"] for m in listed(cli, "list-methods")}
    recipes = {r["name"]: r["package"] for r in listed(cli, "recipes", "list")}
    assert methods["dora"] == recipes["dora_sst2"] == "peftctl-lora"
    uninstall("peftctl-lora")
    after = {m["name"]: m["package"] for m in listed(cli, "list-methods")}
    assert set(methods) - set(after) == set(STANDARD["peftctl-lora"])
    assert after == {m: p for m, p in methods.items() if p != "peftctl-lora"}
    recipes_after = {r["name"]: r["package"] for r in listed(cli, "recipes", "list")}
    assert recipes_after == {r: p for r, p in recipes.items() if p != "peftctl-lora"}
    assert "peftctl-lora" not in {p["package"] for p in listed(cli, "plugins")}


@pytest.mark.parametrize("command", ["train", "validate"])
def test_a_recipe_of_an_uninstalled_package_names_the_package(cli, uninstall, command):
    uninstall("peftctl-vera")
    assert cli(command, "vera_sst2") == (2, "", f"error: recipe 'vera_sst2' {VERA_MISSING}\n")


def test_a_recipe_file_whose_method_is_uninstalled_names_the_package(cli, uninstall, tmp_path):
    uninstall("peftctl-vera")
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("method:\n  name: vera\n")
    assert cli("validate", str(recipe)) == (2, "", f"error: method 'vera' {VERA_MISSING}\n")


def test_an_old_run_of_an_uninstalled_method_names_the_package(cli, uninstall):
    """The run card of a run made before the split names the core as the method's owner."""
    card = json.loads((OLD_RUNS / "vera" / "run.json").read_text())
    assert card["versions"]["method_plugin"].startswith("peftctl 0.2")
    uninstall("peftctl-vera")
    assert cli("eval", str(OLD_RUNS / "vera")) == (2, "", f"error: method 'vera' {VERA_MISSING}\n")


def test_an_installed_or_disabled_package_is_not_called_missing(cli, monkeypatch, tmp_path):
    code, _, err = cli("train", "vera_sts2")
    assert code == 2 and "did you mean 'vera_sst2'" in err and "not installed" not in err
    monkeypatch.setenv("PEFTCTL_DISABLE_PLUGINS", "vera")
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("method:\n  name: vera\n")
    code, _, err = cli("validate", str(recipe))
    assert code == 2 and "unknown method 'vera'" in err and "not installed" not in err


@pytest.mark.parametrize(("transformers", "separate"), [("5.25.0", True), ("4.57.6", False)])
def test_a_method_whose_package_pins_transformers_4_says_so_beside_a_5x_core(
    cli, uninstall, monkeypatch, transformers, separate
):
    from peftctl import standard_packages as standard

    real = standard._installed_version
    monkeypatch.setattr(
        standard, "_installed_version", lambda d: transformers if d == "transformers" else real(d)
    )
    uninstall("peftctl-adapters")
    code, out, err = cli("validate", "seq_bn_sst2")
    missing = "comes from the package peftctl-adapters, which is not installed"
    if separate:
        expected = (
            f"error: recipe 'seq_bn_sst2' {missing} and needs transformers 4.57 (adapters 1.3 "
            f"pins ~=4.57.6; this environment has {transformers}): pip install peftctl-adapters "
            "in an environment of its own\n"
        )
    else:
        expected = f"error: recipe 'seq_bn_sst2' {missing}: pip install peftctl-adapters\n"
    assert (code, out, err) == (2, "", expected)
