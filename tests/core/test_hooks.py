"""Every hook works from a third-party plugin package (one test per hookspec, named
``test_hook_<hook>``; the meta-test below fails when a hookspec has none)."""

from __future__ import annotations

import inspect
import json

from peftctl import hookspecs

HEADER = "from peftctl.api import DatasetSpec, MethodSpec, MetricSpec, hookimpl\n\n"


def test_every_hookspec_has_a_third_party_test():
    specs = {
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "peftctl_spec")
    }
    assert len(specs) == 4
    tested = {
        name.removeprefix("test_hook_") for name in globals() if name.startswith("test_hook_")
    }
    assert specs <= tested, f"hookspecs without a test_hook_<name>: {sorted(specs - tested)}"


def test_hook_peftctl_register_methods(make_plugin_dist, cli):
    code = HEADER + (
        "@hookimpl\ndef peftctl_register_methods():\n"
        "    return [MethodSpec(name='thirdm', summary='s', category='additive',\n"
        "                       impl='peftctl_thirdm:Impl', config='peftctl_thirdm:Config')]\n"
        "from dataclasses import dataclass\nfrom peftctl.api import MethodConfig\n"
        "@dataclass(kw_only=True)\nclass Config(MethodConfig):\n    width: int = 3\n"
        "    def trainable_estimate(self, arch):\n        return self.width * arch.num_layers\n"
    )
    make_plugin_dist(
        "peftctl-thirdm", "1.0", {"thirdm": "peftctl_thirdm"}, {"peftctl_thirdm.py": code}
    )
    exit_code, out, err = cli("list-methods", "--json")
    assert exit_code == 0, err
    row = next(r for r in json.loads(out) if r["name"] == "thirdm")
    assert (row["package"], row["version"], row["trainable"]) == ("peftctl-thirdm", "1.0", 90)


def test_hook_peftctl_register_datasets(make_plugin_dist, cli, tmp_path):
    code = HEADER + (
        "@hookimpl\ndef peftctl_register_datasets():\n"
        "    return [DatasetSpec(name='thirdd', summary='s', task='classification',\n"
        "        metrics=('accuracy',), verbalizers=('no', 'yes'),\n"
        "        impl='peftctl_thirdd:format_row', splits={'eval': 'validation'})]\n"
        "def format_row(row, spec):\n"
        "    from peftctl.api import Rendered\n"
        "    return Rendered(f\"Is {row['x']} big?\", spec.verbalizers[row['y']], row['y'])\n"
    )
    make_plugin_dist(
        "peftctl-thirdd", "0.3", {"thirdd": "peftctl_thirdd"}, {"peftctl_thirdd.py": code}
    )
    folder = tmp_path / "data" / "thirdd"
    folder.mkdir(parents=True)
    (folder / "validation.jsonl").write_text('{"x": 1, "y": 0}\n{"x": 1000, "y": 1}\n')
    exit_code, out, err = cli("list-datasets", "--json")
    assert exit_code == 0, err
    row = next(r for r in json.loads(out) if r["name"] == "thirdd")
    assert (row["package"], row["version"], row["task"]) == (
        "peftctl-thirdd",
        "0.3",
        "classification",
    )
    exit_code, out, err = cli(
        "show-dataset", "thirdd", "--data-dir", str(tmp_path / "data"), "--json"
    )
    assert exit_code == 0, err
    shown = json.loads(out)
    assert [(r["prompt"], r["target"]) for r in shown] == [
        ("Is 1 big?", "no"),
        ("Is 1000 big?", "yes"),
    ]


def test_hook_peftctl_register_metrics(make_plugin_dist):
    code = HEADER + (
        "@hookimpl\ndef peftctl_register_metrics():\n"
        "    return [MetricSpec(name='thirdmetric', summary='s',\n"
        "        impl='peftctl_thirdmetric:score', higher_is_better=False)]\n"
        "def score(predictions, references, *, labels=None):\n"
        "    return sum(p != r for p, r in zip(predictions, references)) / len(references)\n"
    )
    make_plugin_dist(
        "peftctl-thirdmetric",
        "2.1",
        {"thirdmetric": "peftctl_thirdmetric"},
        {"peftctl_thirdmetric.py": code},
    )
    from peftctl.metrics.compute import compute_metrics
    from peftctl.plugin_manager import get_plugins

    spec = get_plugins().metrics.get("thirdmetric")
    assert (spec.package, spec.version, spec.higher_is_better) == (
        "peftctl-thirdmetric",
        "2.1",
        False,
    )
    scores = compute_metrics(
        ["accuracy", "thirdmetric"], ["a", "b", "c", "d"], ["a", "b", "c", "x"]
    )
    assert scores == {"accuracy": 0.75, "thirdmetric": 0.25}


def test_hook_peftctl_recipe_dirs(make_plugin_dist, cli, tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "ia3_thirdparty.yaml").write_text(
        "# peftctl train ia3_thirdparty\nmethod:\n  name: ia3\n"
    )
    code = HEADER + f"@hookimpl\ndef peftctl_recipe_dirs():\n    return [{str(folder)!r}]\n"
    make_plugin_dist(
        "peftctl-thirdr", "1.0", {"thirdr": "peftctl_thirdr"}, {"peftctl_thirdr.py": code}
    )
    exit_code, _, err = cli("validate", "ia3_thirdparty")
    assert exit_code == 0, err


def test_a_package_s_recipes_folder_is_found_without_the_hook(make_plugin_dist, cli):
    """A plugin package with ``recipes/`` inside (as its wheel installs it) needs no
    ``peftctl_recipe_dirs``: the core looks there."""
    code = HEADER + (
        "@hookimpl\ndef peftctl_register_metrics():\n"
        "    return [MetricSpec(name='thinmetric', summary='s', impl='peftctl_thin.plugin:f')]\n"
        "def f(predictions, references, *, labels=None):\n    return 0.0\n"
    )
    recipe = "# peftctl train ia3_thin\nmethod:\n  name: ia3\n"
    make_plugin_dist(
        "peftctl-thin",
        "1.0",
        {"thin": "peftctl_thin.plugin"},
        {
            "peftctl_thin/__init__.py": "",
            "peftctl_thin/plugin.py": code,
            "peftctl_thin/recipes/ia3_thin.yaml": recipe,
        },
    )
    exit_code, out, err = cli("recipes", "list", "--json")
    assert exit_code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["ia3_thin"]["package"] == "peftctl-thin"
    exit_code, _, err = cli("validate", "ia3_thin")
    assert exit_code == 0, err
