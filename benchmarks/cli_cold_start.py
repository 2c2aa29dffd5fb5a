"""Start-up time of peftctl's listing commands over a bare interpreter (issue 16: goal
``peftctl list-methods`` <= python + 0.25 s).

Each command runs once to warm the caches a second run of a user finds (bytecode, kept
estimates), then ``--runs`` times; the overhead is its median wall time minus that of
``python -c pass``. Bytecode goes to a private folder (PYTHONPYCACHEPREFIX), so sources without
``__pycache__`` (an editable install under PYTHONDONTWRITEBYTECODE) are not compiled on every
run. CPU time (user+sys) is shown too: it varies less than wall time on a busy machine.

``--ablate`` measures what each start-up trick buys: ``list-methods`` run through the same
launcher with all tricks, then with each one undone in that process (typer's own eager option
coercion instead of ``cli/lazy_coercion.py``; ``importlib.metadata`` instead of
``entry_points.py``'s reader; no kept ``cli/estimates.py`` file, so every config module is
imported each run).

Run: python benchmarks/cli_cold_start.py [--runs 20] [--module] [--check] [--ablate]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_S = 0.25
COMMANDS = ["--help", "list-methods", "list-datasets --json", "plugins"]
CHECKED = "list-methods"
#: trick -> code undoing it, run before peftctl's CLI is imported
UNDO = {
    "all tricks kept": "",
    "without lazy_coercion": (
        "import types; fake = types.ModuleType('peftctl.cli.lazy_coercion'); "
        "fake.use_lazy_coercion = lambda app: None; "
        "sys.modules['peftctl.cli.lazy_coercion'] = fake"
    ),
    "without entry_points reader": (
        "import peftctl.entry_points as e; e.entry_points = e._from_importlib"
    ),
    "without kept estimates": (
        "import peftctl.cli.estimates as est; est._read = lambda *a: None; "
        "est._write = lambda *a: None"
    ),
}
UNDO["without all three"] = "; ".join(code for code in UNDO.values() if code)


def time_command(argv: list[str], runs: int, env: dict[str, str], cwd: str) -> dict[str, float]:
    """Median and min wall seconds and median CPU seconds of ``runs`` runs after a warm-up."""
    subprocess.run(argv, check=True, env=env, cwd=cwd, capture_output=True)
    wall, cpu = [], []
    for _ in range(runs):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(argv, check=True, env=env, cwd=cwd, capture_output=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"median": statistics.median(wall), "min": min(wall), "cpu": statistics.median(cpu)}


def peftctl_argv(use_module: bool) -> list[str]:
    if use_module:
        return [sys.executable, "-m", "peftctl"]
    script = shutil.which("peftctl")
    if script is None:
        sys.exit("peftctl is not on PATH: pip install -e . first, or pass --module")
    return [script]


def launcher(undo: str, command: str) -> list[str]:
    """``python -c`` running ``peftctl command`` after ``undo``."""
    run = f"from peftctl.cli import main; main({command.split()!r})"
    code = "; ".join(part for part in ("import sys", undo, run) if part)
    return [sys.executable, "-c", code]


def ablate(runs: int, env: dict[str, str], cwd: str, base: float) -> None:
    """``list-methods`` with all tricks, then with each undone: what each one buys. The
    variants take turns, run by run, so a machine slowing down weighs on all alike."""
    argvs = {name: launcher(undo, CHECKED) for name, undo in UNDO.items()}
    for argv in argvs.values():  # warm-up: bytecode, kept estimates
        subprocess.run(argv, check=True, env=env, cwd=cwd, capture_output=True)
    walls: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(runs):
        for name, argv in argvs.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, env=env, cwd=cwd, capture_output=True)
            walls[name].append(time.perf_counter() - start)
    kept = statistics.median(walls["all tricks kept"])
    print(f"\n{'list-methods, launcher':28} {'median s':>9} {'overhead s':>11} {'cost s':>7}")
    for name, times in walls.items():
        median = statistics.median(times)
        print(f"{name:28} {median:9.3f} {median - base:+11.3f} {median - kept:+7.3f}")


#: a trick's work timed inside one fresh interpreter: (what, code printing "<kept> <undone>" ms)
COMPONENTS = {
    "entry points: reader vs importlib.metadata": (
        "import time, peftctl.entry_points as e\n"
        "t = time.perf_counter(); e.entry_points('peftctl'); a = time.perf_counter() - t\n"
        "t = time.perf_counter(); e._from_importlib('peftctl'); b = time.perf_counter() - t\n"
        "print(a * 1000, b * 1000)"
    ),
    "estimates: kept vs computed": (
        "import time, peftctl.cli.estimates as est\n"
        "from peftctl.plugin_manager import get_plugins\n"
        "specs = get_plugins().methods.all()\n"
        "t = time.perf_counter(); est.trainable_estimates(specs); a = time.perf_counter() - t\n"
        "est._read = est._write = lambda *args: None\n"
        "t = time.perf_counter(); est.trainable_estimates(specs); b = time.perf_counter() - t\n"
        "print(a * 1000, b * 1000)"
    ),
    "typer coercion: pydantic import": (
        "import time; t = time.perf_counter(); import pydantic; pydantic.TypeAdapter(int)\n"
        "print(0.0, (time.perf_counter() - t) * 1000)"
    ),
}


def components(runs: int, env: dict[str, str], cwd: str) -> None:
    """Median ms of each trick's work with the trick and without it, in fresh interpreters."""
    print(f"\n{'work of each trick, fresh process':44} {'kept ms':>8} {'undone ms':>10}")
    for what, code in COMPONENTS.items():
        pairs = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            pairs.append([float(x) for x in out.split()])
        kept, undone = (statistics.median(column) for column in zip(*pairs, strict=True))
        print(f"{what:44} {kept:8.1f} {undone:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--module", action="store_true", help="run `python -m peftctl`")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above python + {GOAL_S} s")
    parser.add_argument("--ablate", action="store_true", help="what each start-up trick buys")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peftctl-cold-start-") as scratch:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(scratch, "pycache")
        base = time_command([sys.executable, "-c", "pass"], args.runs, env, scratch)
        peftctl = peftctl_argv(args.module)
        print(f"{' '.join(peftctl)}, {args.runs} runs each after one warm-up")
        print(f"{'command':28} {'median s':>9} {'min s':>7} {'cpu s':>7} {'overhead s':>11}")
        print(f"{'python -c pass':28} {base['median']:9.3f} {base['min']:7.3f} {base['cpu']:7.3f}")
        overheads = {}
        for command in COMMANDS:
            t = time_command([*peftctl, *command.split()], args.runs, env, scratch)
            overheads[command] = t["median"] - base["median"]
            print(
                f"{'peftctl ' + command:28} {t['median']:9.3f} {t['min']:7.3f} {t['cpu']:7.3f} "
                f"{overheads[command]:+11.3f}"
            )
        if args.ablate:
            ablate(args.runs, env, scratch, base["median"])
            components(args.runs, env, scratch)
    verdict = "within" if overheads[CHECKED] <= GOAL_S else "ABOVE"
    print(f"peftctl {CHECKED}: python + {overheads[CHECKED]:.3f} s, {verdict} the goal {GOAL_S} s")
    if args.check and overheads[CHECKED] > GOAL_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
