"""Plugin trouble reaches only the names it concerns (issue 14, class 4): a name two plugins
register, a plugin that fails to load, a method a run used that is no longer installed."""

from __future__ import annotations

import json

import pytest

CLASH = """
from peftctl.api import MethodSpec, hookimpl

@hookimpl
def peftctl_register_methods():
    return [MethodSpec(name="lora", summary="another lora", category="additive",
                       impl="{module}:Impl")]
"""


def local_plugin(tmp_path, monkeypatch, name: str, code: str):
    """``name.py`` holding ``code``, on ``PEFTCTL_PLUGIN_PATH``."""
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    monkeypatch.setenv("PEFTCTL_PLUGIN_PATH", str(path))
    return path


def validate_method(cli, tmp_path, method: str) -> tuple[int, str, str]:
    """``peftctl validate`` of a recipe that names only ``method``."""
    recipe = tmp_path / f"{method}.yaml"
    recipe.write_text(f"method:\n  name: {method}\n")
    return cli("validate", str(recipe))


@pytest.fixture
def clashing_plugin(tmp_path, monkeypatch):
    """A local plugin that registers 'lora' again."""
    return local_plugin(tmp_path, monkeypatch, "otherlora", CLASH.format(module="otherlora"))


def test_a_clash_leaves_other_methods_listed_and_usable(clashing_plugin, cli, tmp_path):
    code, out, err = cli("list-methods", "--json")
    assert code == 0
    names = [row["name"] for row in json.loads(out)]
    assert "lora" not in names and "ia3" in names
    assert err.startswith("warning: method 'lora' is registered by both")
    assert "PEFTCTL_DISABLE_PLUGINS=otherlora" in err
    code, _, err = validate_method(cli, tmp_path, "ia3")
    assert code == 0, err


def test_using_the_clashing_name_says_who_clashes_and_how_to_disable_one(clashing_plugin, cli):
    code, out, err = cli("validate", "lora_sst2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "method 'lora' is registered by both 'peftctl-lora " in err
    assert "and 'local' (plugin 'otherlora')" in err
    assert err.rstrip().endswith("PEFTCTL_DISABLE_PLUGINS=otherlora")


def test_disabling_one_side_resolves_the_clash(clashing_plugin, cli, monkeypatch):
    monkeypatch.setenv("PEFTCTL_DISABLE_PLUGINS", "otherlora")
    code, _, err = cli("validate", "lora_sst2")
    assert code == 0, err


CLASH_AND_MORE = """
from peftctl.api import MethodSpec, hookimpl

@hookimpl
def peftctl_register_methods():
    return [MethodSpec(name=name, summary="s", category="additive", impl="more:Impl")
            for name in ("lora", "morelora")]
"""


def test_plugins_shows_the_conflict_per_name(clashing_plugin, cli):
    code, out, _ = cli("plugins", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    # only the name clashes: neither plugin as a whole is marked
    assert (rows["otherlora"]["status"], rows["otherlora"]["error"]) == ("ok", "")
    assert rows["otherlora"]["conflicts"] == ["method 'lora' also in 'lora'"]
    assert (rows["lora"]["status"], rows["lora"]["conflicts"]) == (
        "ok",
        ["method 'lora' also in 'otherlora'"],
    )
    assert rows["builtin-datasets"]["conflicts"] == []


def test_plugins_table_flags_the_clashing_name_not_the_package(tmp_path, monkeypatch, cli):
    local_plugin(tmp_path, monkeypatch, "more", CLASH_AND_MORE)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli("plugins")
    assert code == 0
    statuses = {
        cells[0].strip(): cells[-1].strip()
        for cells in (line.strip("│").split("│") for line in out.splitlines())
        if len(cells) > 2 and cells[0].strip()
    }
    assert statuses["more"] == statuses["lora"] == "ok"
    assert "conflict" not in statuses.values()
    note = " ".join(out[out.index("conflict: ") :].split())  # the note, unwrapped
    assert note.startswith("conflict: method 'lora' is registered by both 'peftctl-lora ")
    assert "PEFTCTL_DISABLE_PLUGINS=more" in note
    listed = {m["name"] for m in json.loads(cli("list-methods", "--json")[1])}
    assert "morelora" in listed and "lora" not in listed  # the plugin's other name works


def test_a_method_whose_plugin_failed_to_load_says_so(tmp_path, monkeypatch, cli):
    code = "import peft_loha_kernels_that_are_missing\n"
    plugin = local_plugin(tmp_path, monkeypatch, "loha", code)
    code, out, err = validate_method(cli, tmp_path, "loha")
    assert code == 2 and out == ""
    assert err == (
        f"error: method 'loha' is unavailable: plugin {plugin} failed to load: "
        "ModuleNotFoundError: No module named 'peft_loha_kernels_that_are_missing'\n"
    )


def test_an_unknown_name_mentions_plugins_that_failed(tmp_path, monkeypatch, cli):
    local_plugin(tmp_path, monkeypatch, "broken", "raise RuntimeError('boom')\n")
    code, _, err = validate_method(cli, tmp_path, "lroa")
    assert code == 2
    assert "unknown method 'lroa' (did you mean 'lora'?)" in err
    assert err.rstrip().endswith("plugins that failed to load: local")


def test_a_run_whose_method_is_no_longer_installed_names_its_package(tmp_path, cli):
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "recipe.yaml").write_text("method:\n  name: zzfake\ndataset:\n  name: sst2\n")
    card = {"method": "zzfake", "versions": {"method_plugin": "peftctl-zzfake 0.1.0"}}
    (run / "run.json").write_text(json.dumps(card))
    code, out, err = cli("eval", str(run))
    assert code == 2 and out == ""
    assert err == (
        "error: method 'zzfake' comes from peftctl-zzfake 0.1.0 (run.json); install it "
        "(pip install peftctl-zzfake)\n"
    )


TWICE = """
from peftctl.api import MethodSpec, hookimpl

@hookimpl
def peftctl_register_methods():
    spec = MethodSpec(name="double", summary="twice", category="additive", impl="twice:Impl")
    return [spec, spec]
"""


def test_a_name_one_plugin_registers_twice_names_that_plugin_once(tmp_path, monkeypatch, cli):
    local_plugin(tmp_path, monkeypatch, "twice", TWICE)
    code, out, err = validate_method(cli, tmp_path, "double")
    assert (code, out) == (2, "")
    assert err == (
        "error: method 'double' is registered 2 times by plugin 'twice' ('local'); a plugin "
        "registers a name once: fix it, or skip it with PEFTCTL_DISABLE_PLUGINS=twice\n"
    )
    twice = next(p for p in json.loads(cli("plugins", "--json")[1]) if p["name"] == "twice")
    assert (twice["status"], twice["conflicts"]) == ("ok", ["method 'double' registered 2 times"])
