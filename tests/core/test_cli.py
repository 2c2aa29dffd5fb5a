"""The command line as a user runs it: output, exit codes, one-line errors, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from peftctl import __version__

HEAVY_MODULES = ["torch", "transformers", "peft", "adapters", "datasets", "accelerate", "sklearn"]
# what a listing command would import only to start slower (issue 16: cold start)
SLOW_START_MODULES = ["pydantic", "importlib.metadata", "email"]


def test_version(cli):
    assert cli("--version") == (0, f"peftctl {__version__}\n", "")


def test_help_lists_the_commands(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for command in ("list-methods", "list-datasets", "list-metrics", "plugins"):
        assert command in out


@pytest.mark.parametrize("command", ["list-methods", "list-datasets", "list-metrics"])
def test_listing_json_has_the_promised_fields(command, cli):
    code, out, err = cli(command, "--json")
    assert (code, err) == (0, "")
    records = json.loads(out)
    assert records, "every listing has at least one built-in entry"
    for record in records:
        assert {"name", "package", "version", "summary"} <= record.keys()


def test_list_methods_json_has_category_and_lora(cli):
    _, out, _ = cli("list-methods", "--json")
    lora = next(m for m in json.loads(out) if m["name"] == "lora")
    assert lora["category"] == "reparameterised"
    assert lora["package"] == "peftctl-lora" and lora["version"] == __version__  # in lockstep


def test_list_methods_table_and_category_filter(cli):
    code, out, _ = cli("list-methods", "--category", "reparameterised")
    assert code == 0 and "lora" in out
    _, out, _ = cli("list-methods", "--category", "baseline", "--json")
    assert all(m["category"] == "baseline" for m in json.loads(out))


def test_bad_category_is_one_line_exit_2(cli):
    code, out, err = cli("list-methods", "--category", "magic")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: --category must be one of")


def test_broken_plugin_warns_once_and_listing_still_works(make_plugin_dist, cli):
    make_plugin_dist(
        "peftctl-kaput",
        "0.1",
        {"kaput": "kaput_mod"},
        {"kaput_mod.py": "raise ImportError('needs libfoo')\n"},
    )
    code, out, err = cli("list-methods", "--json")
    assert code == 0 and "lora" in {m["name"] for m in json.loads(out)}
    assert err == (
        'warning: failed to load plugin "peftctl-kaput" (kaput = kaput_mod): '
        "ImportError: needs libfoo\n"
    )
    code, out, _ = cli("plugins", "--json")
    kaput = next(p for p in json.loads(out) if p["name"] == "kaput")
    assert (kaput["status"], kaput["package"]) == ("failed", "peftctl-kaput")


def test_duplicate_method_is_a_one_line_warning_and_the_listing_works(make_plugin_dist, cli):
    code = (
        "from peftctl import hookimpl\nfrom peftctl.specs import MethodSpec\n"
        "@hookimpl\ndef peftctl_register_methods():\n"
        "    return [MethodSpec(name='lora', summary='', category='additive', impl='m:a')]\n"
    )
    make_plugin_dist("peftctl-clash", "0.1", {"clash": "clash_mod"}, {"clash_mod.py": code})
    exit_code, out, err = cli("list-methods")
    assert exit_code == 0 and err.count("\n") == 1 and err.startswith("warning: ")
    assert "registered by both" in err and "peftctl-clash" in err
    assert "ia3" in out


def test_disable_plugins_env(make_plugin_dist, monkeypatch, cli):
    make_plugin_dist(
        "peftctl-extra",
        "0.1",
        {"extra": "extra_mod"},
        {
            "extra_mod.py": (
                "from peftctl import hookimpl\nfrom peftctl.specs import MethodSpec\n"
                "@hookimpl\ndef peftctl_register_methods():\n"
                "    return [MethodSpec(name='extra', summary='', category='additive',\n"
                "                       impl='m:a')]\n"
            )
        },
    )
    _, out, _ = cli("list-methods", "--json")
    assert "extra" in {m["name"] for m in json.loads(out)}
    monkeypatch.setenv("PEFTCTL_DISABLE_PLUGINS", "extra")
    _, out, _ = cli("list-methods", "--json")
    assert "extra" not in {m["name"] for m in json.loads(out)}
    _, out, _ = cli("plugins", "--json")
    assert {p["name"]: p["status"] for p in json.loads(out)}["extra"] == "disabled"


def test_unknown_command_exits_2(cli):
    code, _, err = cli("list-metods")
    assert code == 2 and "Did you mean 'list-methods'" in err


LAZY_PROBE = """
import json, sys
from peftctl.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["list-methods"], ["list-datasets", "--json"], ["list-metrics"], ["plugins"]],
)
def test_listing_commands_import_no_heavy_library(argv):
    probe = LAZY_PROBE.format(argv=argv, heavy=HEAVY_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["list-methods"], ["list-datasets", "--json"], ["list-metrics"], ["plugins"]],
)
def test_listing_commands_import_neither_pydantic_nor_importlib_metadata(argv):
    probe = LAZY_PROBE.format(argv=argv, heavy=SLOW_START_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []
