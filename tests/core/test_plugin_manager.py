"""Discovery, isolation, duplicates and disabling of plugins."""

from __future__ import annotations

import sys

import pytest

from peftctl.errors import PeftctlError
from peftctl.plugin_manager import Plugins
from peftctl.specs import MethodSpec

METHOD_PLUGIN = """
from peftctl import hookimpl
from peftctl.specs import MethodSpec

@hookimpl
def peftctl_register_methods():
    return [MethodSpec(name="{name}", summary="test method", category="additive",
                       impl="{module}:Impl")]
"""


def method_plugin(name: str, module: str) -> str:
    return METHOD_PLUGIN.format(name=name, module=module)


def test_builtins_register_through_entry_points():
    plugins = Plugins(environ={})
    full = plugins.methods.get("full")
    assert (full.package, full.category, full.mergeable) == ("peftctl", "baseline", True)
    sources = {info.source for info in plugins.infos if info.package == "peftctl"}
    assert "peftctl.methods.plugin" in sources
    lora = plugins.methods.get("lora")  # a standard method package, through the same group
    assert (lora.package, lora.category, lora.mergeable) == (
        "peftctl-lora",
        "reparameterised",
        True,
    )
    assert {info.source for info in plugins.infos if info.package == "peftctl-lora"} == {
        "peftctl_lora.plugin"
    }
    assert plugins.failures() == []


def test_third_party_dist_is_discovered_with_its_package_and_version(make_plugin_dist):
    make_plugin_dist(
        "peftctl-alpha",
        "1.2.3",
        {"alpha": "alpha_mod"},
        {"alpha_mod.py": method_plugin("alpha", "alpha_mod")},
    )
    spec = Plugins(environ={}).methods.get("alpha")
    assert (spec.package, spec.version, spec.impl) == ("peftctl-alpha", "1.2.3", "alpha_mod:Impl")


def test_listing_does_not_import_the_implementation(make_plugin_dist):
    make_plugin_dist(
        "peftctl-lazy",
        "1.0",
        {"lazy": "lazy_plugin"},
        {"lazy_plugin.py": method_plugin("lazy", "lazy_impl_never_imported")},
    )
    Plugins(environ={}).methods.all()
    assert "lazy_impl_never_imported" not in sys.modules


def test_broken_import_is_isolated_and_reported_in_one_line(make_plugin_dist):
    make_plugin_dist(
        "peftctl-broken",
        "0.1",
        {"broken": "broken_mod"},
        {"broken_mod.py": "import module_that_does_not_exist\n"},
    )
    plugins = Plugins(environ={})
    assert "lora" in plugins.methods
    [failure] = plugins.failures()
    assert failure.failure_line() == (
        'failed to load plugin "peftctl-broken" (broken = broken_mod): '
        "ModuleNotFoundError: No module named 'module_that_does_not_exist'"
    )


def test_hook_that_raises_drops_everything_from_that_plugin(make_plugin_dist):
    code = method_plugin("raiser", "raiser_mod") + (
        "\n@hookimpl\ndef peftctl_register_metrics():\n    raise RuntimeError('boom')\n"
    )
    make_plugin_dist("peftctl-raiser", "0.1", {"raiser": "raiser_mod"}, {"raiser_mod.py": code})
    plugins = Plugins(environ={})
    assert "raiser" not in plugins.methods
    assert plugins.failures()[0].error == "RuntimeError: boom"
    assert "accuracy" in plugins.metrics


def test_misspelled_hook_is_caught_by_check_pending(make_plugin_dist):
    code = method_plugin("typo", "typo_mod").replace(
        "peftctl_register_methods", "peftctl_register_method"
    )
    make_plugin_dist("peftctl-typo", "0.1", {"typo": "typo_mod"}, {"typo_mod.py": code})
    [failure] = Plugins(environ={}).failures()
    assert "peftctl_register_method" in failure.error
    assert failure.error.startswith("PluginValidationError")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return ['lora']", "hook returned str, expected MethodSpec"),
        (
            "return [MethodSpec(name='Bad-Name', summary='', category='additive', impl='m:a')]",
            "must match",
        ),
        (
            "return [MethodSpec(name='ok', summary='', category='magic', impl='m:a')]",
            "category must be one of",
        ),
        (
            "return [MethodSpec(name='ok', summary='', category='additive', impl='no_colon')]",
            "is not 'module:attr'",
        ),
    ],
)
def test_malformed_records_fail_the_plugin(make_plugin_dist, body, message):
    code = (
        "from peftctl import hookimpl\nfrom peftctl.specs import MethodSpec\n\n"
        f"@hookimpl\ndef peftctl_register_methods():\n    {body}\n"
    )
    module = f"malformed_{abs(hash(body))}"
    make_plugin_dist("peftctl-malformed", "0.1", {"malformed": module}, {f"{module}.py": code})
    [failure] = Plugins(environ={}).failures()
    assert message in failure.error


def test_a_duplicate_name_is_unusable_and_names_both_owners(make_plugin_dist):
    make_plugin_dist(
        "peftctl-dup", "2.0", {"dup": "dup_mod"}, {"dup_mod.py": method_plugin("lora", "dup_mod")}
    )
    plugins = Plugins(environ={})
    with pytest.raises(
        PeftctlError,
        match=r"'lora' is registered by both 'peftctl-lora .*' \(plugin "
        r"'lora'\) and 'peftctl-dup 2\.0' \(plugin 'dup'\); uninstall one or skip "
        r"one with PEFTCTL_DISABLE_PLUGINS=dup$",
    ):
        plugins.methods.get("lora")
    names = [spec.name for spec in plugins.methods.all()]
    assert "lora" not in names and "ia3" in names
    assert plugins.methods.get("ia3").package == "peftctl-ia3"
    [conflict] = plugins.conflicts()
    assert "registered by both" in str(conflict)
    status = {i.name: (i.status, i.error, i.conflicts) for i in plugins.infos}
    assert status["dup"] == ("ok", "", ["method 'lora' also in 'lora'"])  # the name, not the
    assert status["lora"] == ("ok", "", ["method 'lora' also in 'dup'"])  # plugin, clashes


def test_disabled_plugin_is_not_imported(make_plugin_dist):
    make_plugin_dist(
        "peftctl-off",
        "0.1",
        {"off": "off_mod"},
        {"off_mod.py": "raise SystemExit('must not be imported')\n"},
    )
    plugins = Plugins(environ={"PEFTCTL_DISABLE_PLUGINS": "off, other"})
    assert [i.status for i in plugins.infos if i.name == "off"] == ["disabled"]
    assert plugins.failures() == []
    assert "off_mod" not in sys.modules


def test_unknown_name_suggests_the_closest():
    with pytest.raises(PeftctlError, match=r"unknown method 'lroa' \(did you mean 'lora'\?\)"):
        Plugins(environ={}).methods.get("lroa")


def test_plugin_path_loads_files_packages_and_folders(tmp_path):
    single = tmp_path / "single.py"
    single.write_text(method_plugin("single", "x"))
    package = tmp_path / "pkgplugin"
    package.mkdir()
    (package / "__init__.py").write_text("from .hooks import *\n")
    (package / "hooks.py").write_text(method_plugin("packaged", "x"))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.py").write_text(method_plugin("one", "x"))
    (folder / "_private.py").write_text("raise SystemExit('skipped')\n")
    missing = tmp_path / "missing.py"
    path = ":".join(map(str, [single, package, folder, missing]))

    plugins = Plugins(environ={"PEFTCTL_PLUGIN_PATH": path})

    assert {"single", "packaged", "one"} <= set(plugins.methods.names())
    assert plugins.methods.get("single").package == "local"
    [failure] = plugins.failures()
    assert failure.name == "missing" and "does not exist" in failure.error


def test_spec_load_failure_is_a_user_error():
    spec = MethodSpec(
        name="x",
        summary="",
        category="additive",
        impl="no_such_module:thing",
        package="peftctl-x",
        version="1.0",
    )
    with pytest.raises(
        PeftctlError,
        match=r"method 'x' from peftctl-x 1\.0 failed to import "
        r"no_such_module:thing: ModuleNotFoundError",
    ):
        spec.load()


def test_recipe_dirs_include_the_core_recipes():
    dirs = [folder for folder, _ in Plugins(environ={}).recipe_sources()]
    assert any(d.name in {"recipes", "_recipes"} and d.is_dir() for d in dirs)
