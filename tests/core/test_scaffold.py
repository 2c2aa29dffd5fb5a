"""`peftctl new-method`: the package it writes installs into a fresh venv, is listed there,
and passes its own tests unchanged; bad names and occupied directories are one-line errors."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_cli import HEAVY_MODULES, LAZY_PROBE


def venv_python(path: Path) -> Path:
    """A venv that installs into itself but sees this interpreter's packages through a .pth
    file (``--system-site-packages`` would miss them when this interpreter is a venv: nox)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    outer = "; ".join(f"site.addsitedir({p!r})" for p in site.getsitepackages())
    (Path(purelib) / "_outer_site.pth").write_text(f"import site; {outer}\n")
    return python


def check(argv: list, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


#: name -> (new-method options, trainable parameters on the default model)
SCAFFOLDS = {
    "scaffolded": ((), 30 * (576 + 192)),  # the template: q_proj, v_proj outputs of SmolLM2
    # --peft-config: LoHa, 2r(in + out) on q and v (a formula per linear)
    "peft_backed": (("--peft-config", "LoHaConfig"), 30 * 16 * (576 + 576 + 576 + 192)),
    # LoKr: no such formula (it factorises each shape); counted per shape, q 960 and v 608
    "kron_backed": (("--peft-config", "LoKrConfig"), 30 * (960 + 608)),
}


def test_scaffolds_install_list_and_pass_their_own_tests(tmp_path, cli):
    """The template and a --peft-config package, installed together into one venv (one
    install, one pytest run: CI time)."""
    packages = []
    for name, (options, _) in SCAFFOLDS.items():
        package = tmp_path / f"peftctl-{name.replace('_', '-')}"
        code, out, err = cli("new-method", name, "--dir", str(package), *options)
        assert code == 0, err
        assert f"wrote {package}/" in out
        packages.append(package)
    python = venv_python(tmp_path / "venv")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    check([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", *packages], env)

    listed = json.loads(check([python, "-m", "peftctl", "list-methods", "--json"], env))
    for name, (_, trainable) in SCAFFOLDS.items():
        record = next(m for m in listed if m["name"] == name)
        assert record["package"] == f"peftctl-{name.replace('_', '-')}", record
        assert record["mergeable"] is True and record["trainable"] == trainable, record
    outside = check([sys.executable, "-m", "peftctl", "list-methods", "--json"], env)
    assert not set(SCAFFOLDS) & {m["name"] for m in json.loads(outside)}, "installed outside"

    # the two packages' test files share names: importlib mode keeps them apart
    tests = [python, "-m", "pytest", *(p / "tests" for p in packages), "-q"]
    tests += ["-p", "no:cacheprovider", "--import-mode=importlib"]
    summary = check(tests, env).strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary


def test_a_peft_backed_package_declares_what_it_imports_and_describes_its_tuner(tmp_path, cli):
    package = tmp_path / "peftctl-kron"
    code, _, err = cli("new-method", "kron", "--dir", str(package), "--peft-config", "LoKrConfig")
    assert code == 0, err
    pyproject = (package / "pyproject.toml").read_text()
    assert '"peft>=' in pyproject and '"torch>=' in pyproject
    assert "Kronecker" in pyproject and "per-channel scales" not in pyproject
    recipe = (package / "recipes" / "kron_sst2.yaml").read_text()
    assert "  lr: 3.0e-03\n" in recipe and "Kronecker" in recipe and "output scales" not in recipe
    config = (package / "src" / "peftctl_kron" / "config.py").read_text()
    assert "PER_LINEAR = {" in config and "(576, 576): 960," in config
    assert "return None  # peft's count" not in config
    plugin = (package / "src" / "peftctl_kron" / "plugin.py").read_text()
    assert "peftctl_recipe_dirs" not in plugin and 'category="reparameterised"' in plugin


def test_a_prompt_learning_config_is_refused_in_one_line(tmp_path, cli):
    target = tmp_path / "x"
    code, _, err = cli(
        "new-method", "x", "--dir", str(target), "--peft-config", "PromptTuningConfig"
    )
    assert code == 2 and err.count("\n") == 1 and "peftctl-prompt implements" in err
    assert not target.exists()


def test_names_follow_the_method_name(tmp_path):
    from peftctl.scaffold import new_method

    package = new_method("my_scale", tmp_path / "pkg")
    pyproject = (package / "pyproject.toml").read_text()
    assert 'name = "peftctl-my-scale"' in pyproject
    assert 'my-scale = "peftctl_my_scale.plugin"' in pyproject  # entry name: dist minus peftctl-
    assert "class MyScaleMethod(Method)" in (package / "src/peftctl_my_scale/method.py").read_text()
    recipe = (package / "recipes" / "my_scale_sst2.yaml").read_text()
    assert recipe.startswith("# peftctl train my_scale_sst2\n")
    texts = "".join(p.read_text() for p in package.rglob("*") if p.is_file())
    assert "mymethod" not in texts.lower()


def test_a_name_containing_the_placeholder_is_replaced_once():
    from peftctl.scaffold import render

    text = 'name = "peftctl-mymethod"\nmymethod = "peftctl_mymethod.plugin"\nMyMethodConfig'
    assert render(text, "not_mymethod") == (
        'name = "peftctl-not-mymethod"\nnot-mymethod = "peftctl_not_mymethod.plugin"\n'
        "NotMymethodConfig"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Bad-Name", "must be lowercase letters, digits and underscores"),
        ("2fast", "must be lowercase letters, digits and underscores"),
        ("trailing_", "must be lowercase letters, digits and underscores"),
        ("lora", "method 'lora' already exists (peftctl-lora "),
    ],
)
def test_bad_or_taken_name_is_one_line(tmp_path, cli, name, message):
    code, out, err = cli("new-method", name, "--dir", str(tmp_path / "pkg"))
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    assert not (tmp_path / "pkg").exists()


def test_occupied_directory_is_refused(tmp_path, cli):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mine.txt").write_text("x")
    code, _, err = cli("new-method", "fresh", "--dir", str(tmp_path / "pkg"))
    assert code == 2 and "already exists and is not empty" in err
    assert [p.name for p in (tmp_path / "pkg").iterdir()] == ["mine.txt"]


def test_scaffolding_imports_no_heavy_library(tmp_path):
    probe = LAZY_PROBE.format(
        argv=["new-method", "light", "--dir", str(tmp_path / "pkg")], heavy=HEAVY_MODULES
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []
    assert (tmp_path / "pkg" / "pyproject.toml").is_file()


def test_an_unknown_peft_config_is_one_line(tmp_path, cli):
    code, out, err = cli(
        "new-method", "x", "--dir", str(tmp_path / "x"), "--peft-config", "LoHaConfg"
    )
    assert code == 2 and out == ""
    assert err.startswith("error: --peft-config LoHaConfg is not a config class of peft ")
    assert "(did you mean 'LoHaConfig'?)" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_facts_give_a_package_working_defaults_test_options_and_a_paper(tmp_path, cli):
    """VB-LoRA's bank vectors must divide every adapted width: the facts set a length for the
    default model (64) and one for the kit's tiny model (16), both measured; BEFT's paper
    trains the value bias only and peft cannot merge it into a bias-free linear."""
    vblora, beft = tmp_path / "peftctl-bank", tmp_path / "peftctl-bias"
    for name, target, config in (("bank", vblora, "VBLoRAConfig"), ("bias", beft, "BeftConfig")):
        code, _, err = cli("new-method", name, "--dir", str(target), "--peft-config", config,
                           "--version", "0.2.0")  # fmt: skip
        assert code == 0, err
    pyproject = (vblora / "pyproject.toml").read_text()
    assert 'version = "0.2.0"' in pyproject and "VB-LoRA for peftctl" in pyproject
    plugin = (vblora / "src" / "peftctl_bank" / "plugin.py").read_text()
    assert 'summary="LoRA built from a shared bank of trained vectors (Li et al., 2024)"' in plugin
    recipe = (vblora / "recipes" / "bank_sst2.yaml").read_text()
    header = " ".join(line.removeprefix("# ") for line in recipe.splitlines())
    assert "  vector_length: 64\n" in recipe and "not yet tuned on this budget" in header
    assert "Needs: pip install peftctl-bank" in recipe
    config = (vblora / "src" / "peftctl_bank" / "config.py").read_text()
    assert '"vector_length": 64,' in config and "TEST_OPTIONS = {" in config
    assert "TEST_PER_LINEAR = {" in config and "(32, 16):" in config
    test = (vblora / "tests" / "test_bank.py").read_text()  # a name of its own
    assert 'method_options: ClassVar[dict[str, Any]] = {"vector_length": 16}' in test
    assert "[2405.15179](https://arxiv.org/abs/2405.15179)" in (vblora / "README.md").read_text()

    bias = beft / "src" / "peftctl_bias"
    assert "mergeable=False" in (bias / "plugin.py").read_text()
    assert (
        'raise PeftctlError(f"{self.config.name} does not merge' in (bias / "method.py").read_text()
    )
    assert 'default_factory=lambda: ["role:value"]' in (bias / "config.py").read_text()
    assert "  target_modules: [role:value]\n" in (beft / "recipes" / "bias_sst2.yaml").read_text()


def test_a_formula_is_not_fitted_to_layers_that_share_parameters():
    import peft

    from peftctl.scaffold.peft_backed import per_linear_formula

    assert per_linear_formula(peft.LoHaConfig, {"r": 4}) == (0, 8, 8, 0)  # 2r(in + out)
    # Lily's B experts are shared by every layer: one linear's count is no per-linear sum
    assert per_linear_formula(peft.LilyConfig, {"r": 8}) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--peft-config", "KasaConfig"), "configures a LoRA variant (peft's LoraConfig(kasa"),
        (("--version", "two"), "--version 'two' is not a version such as 0.2.0"),
    ],
)
def test_a_lora_variant_or_a_bad_version_is_one_line(tmp_path, cli, argv, message):
    code, out, err = cli("new-method", "x", "--dir", str(tmp_path / "x"), *argv)
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
