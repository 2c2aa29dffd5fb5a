"""One bench cell, in its own process: ``python -m peftctl.bench.worker BENCH_DIR CELL``.

Trains the cell's recipe (resuming from its latest checkpoint when an earlier attempt was
interrupted), scores the eval split (and the test split when it differs), measures
forgetting, and writes ``result.json`` beside the run's own files. Any failure is recorded
in the cell's state file as one line; the traceback goes to the cell's log.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from peftctl.bench.cells import IDENTITY_KEYS
from peftctl.bench.store import BenchDir, mark_running, now, read_json, set_state
from peftctl.errors import PeftctlError
from peftctl.run_files import ADAPTER, CHECKPOINTS, METRICS, RUN_CARD, is_finished

TEST_DIR = "test"
MODES_DIR = "modes"


def run_cell(bench: BenchDir, name: str) -> dict[str, Any]:
    """Run cell ``name`` of ``bench`` to its result record (also written to ``result.json``)."""
    from peftctl.config.recipe import load_recipe

    started = time.perf_counter()
    state_path = bench.state_path(name)
    mark_running(state_path)
    run_dir = bench.run_dir(name)
    config = load_recipe(bench.recipe_path(name), [f"output_dir={run_dir}"])
    _train(config, run_dir, bench.read_state(name).get("processes", 1), bench.recipe_path(name))
    eval_summary = _score(config, run_dir, "eval")
    test_is_eval = same_split(config)
    test_summary = eval_summary if test_is_eval else _score(config, run_dir, "test")
    state = bench.read_state(name)
    extra = {m: _mode_scores(config, run_dir, m, test_is_eval) for m in state.get("modes", [])[1:]}
    earlier = read_json(bench.result_path(name)) or {}  # a finished cell scored in a new mode
    lost = earlier.get("forgetting")
    if lost is None:
        from peftctl.bench.forgetting import forgetting

        lost = forgetting(config, run_dir / ADAPTER)
    identity = {k: v for k, v in state.items() if k in IDENTITY_KEYS}
    record = result_record(identity, run_dir, eval_summary, test_summary, test_is_eval, lost)
    if extra:
        record["mode_scores"] = extra
    if state.get("deploy"):
        found = earlier.get("deployability") or _deploy(config, run_dir, test_is_eval)
        record["deployability"] = found
    record["peak_rss_bytes"] = max(record["peak_rss_bytes"], earlier.get("peak_rss_bytes") or 0)
    spent = time.perf_counter() - started + (earlier.get("cell_seconds") or 0.0)
    record["cell_seconds"] = round(spent, 2)
    from peftctl.atomic import write_json_atomic

    write_json_atomic(bench.result_path(name), record)
    set_state(state_path, status="finished", finished_at=now(), seconds=record["cell_seconds"])
    return record


def same_split(config: Any) -> bool:
    """True when the dataset's test split is its eval split (or it has none): the reported
    score is then measured on the examples the lr was chosen on."""
    from peftctl.datasets.loading import dataset_spec

    splits = dataset_spec(config.dataset).splits
    return "test" not in splits or splits["test"] == splits.get("eval")


def _train(config: Any, run_dir: Path, processes: int, recipe: Path) -> None:
    """Train unless a finished run is there; resume an interrupted one from its checkpoint."""
    from peftctl.training import checkpoint as ckpt

    if is_finished(run_dir):
        return
    resume = ckpt.latest_checkpoint(run_dir / CHECKPOINTS) is not None
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)  # an attempt that died before its first checkpoint
    if processes == 1:
        from peftctl.training.run import run_training

        run_training(config, resume=resume, quiet=True)
    else:
        _torchrun_training(recipe, run_dir, processes, resume)


def _torchrun_training(recipe: Path, run_dir: Path, processes: int, resume: bool) -> None:
    """``torchrun --standalone --nproc_per_node processes -m peftctl train`` of the cell's
    recipe; the cell's threads are divided between the processes."""
    import os
    import subprocess

    threads = max(int(os.environ.get("OMP_NUM_THREADS", "1")) // processes, 1)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", str(processes), "-m", "peftctl", "train", str(recipe)]
    command += [f"output_dir={run_dir}", "--quiet", *(["--resume"] if resume else [])]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    code = subprocess.run(command, env=env).returncode
    if code != 0:
        raise PeftctlError(f"training with {processes} processes failed (exit {code}); see the log")


def _deploy(config: Any, run_dir: Path, test_is_eval: bool) -> dict[str, Any]:
    """Deployability on the split the report shows (test; eval when they are one)."""
    from peftctl.bench.deploy import deployability

    return deployability(config, run_dir, "eval" if test_is_eval else "test")


def _mode_scores(config: Any, run_dir: Path, mode: str, test_is_eval: bool) -> dict[str, Any]:
    """The cell's scores in a further eval ``mode`` (kept in ``modes/<mode>/``)."""
    eval_summary = _score(config, run_dir, "eval", mode)
    test_summary = eval_summary if test_is_eval else _score(config, run_dir, "test", mode)
    return {
        "primary_metric": eval_summary["primary_metric"],
        "eval": _split_scores(eval_summary),
        "test": _split_scores(test_summary),
        "pscp": eval_summary["metrics"].get("pscp"),
    }


def _score(config: Any, run_dir: Path, split: str, mode: str | None = None) -> dict[str, Any]:
    """``metrics.json`` of the run on ``split`` (eval: the run's own; test: ``test/``), in
    the recipe's eval mode or in ``mode`` (then under ``modes/<mode>/``)."""
    base = run_dir if mode is None else run_dir / MODES_DIR / mode
    out = base if split == "eval" else base / TEST_DIR
    found = read_json(out / METRICS)
    if found is not None and found.get("split") == split and mode in (None, found.get("mode")):
        return found
    from peftctl.evaluation.runner import evaluate
    from peftctl.evaluation.targets import run_dir_target

    overrides = [f"output_dir={run_dir}", f"eval.split={split}"]
    if mode is not None:
        overrides.append(f"eval.mode={mode}")
    run_config, candidates = run_dir_target(str(run_dir), overrides, output_dir=str(out))
    return evaluate(run_config, candidates, quiet=True)[0].summary


def result_record(
    identity: dict[str, Any],
    run_dir: Path,
    eval_summary: dict[str, Any],
    test_summary: dict[str, Any],
    test_is_eval: bool,
    lost: dict[str, Any],
) -> dict[str, Any]:
    """One cell's result: scores, costs and provenance (see ``docs/bench.md``)."""
    from peftctl.memory import peak_memory

    card = read_json(run_dir / RUN_CARD) or {}
    training = card.get("training", {})
    device = card.get("device", {}).get("type", "cpu")
    worker_memory = peak_memory(device)
    cost = eval_summary.get("inference_cost") or {}
    return {
        **identity,
        "status": "finished",
        "model": card.get("model"),
        "primary_metric": eval_summary["primary_metric"],
        "eval": _split_scores(eval_summary),
        "test": _split_scores(test_summary),
        "test_is_eval": test_is_eval,
        "pscp": eval_summary["metrics"].get("pscp"),
        "trainable_params": card.get("parameters", {}).get("trainable"),
        "total_params": card.get("parameters", {}).get("total"),
        "adapter_bytes": directory_bytes(run_dir / ADAPTER),
        "peak_rss_bytes": worker_memory["peak_rss_bytes"],
        "train_peak_rss_bytes": card.get("memory", {}).get("peak_rss_bytes"),
        "peak_gpu_bytes": worker_memory.get("peak_gpu_bytes"),
        "steps": training.get("steps"),
        "train_seconds": training.get("train_seconds"),
        "tokens_per_second": training.get("tokens_per_second"),
        "final_train_loss": training.get("final_train_loss"),
        "final_eval_loss": training.get("final_eval_loss"),
        "inference_flops": cost.get("flops"),
        "inference_cost": cost or None,
        "forgetting": lost,
        "precision": card.get("precision", {}).get("chosen"),
        "hardware": {
            "device": device,
            "processes": card.get("device", {}).get("processes"),
            "threads": card.get("threads"),
            "cpu": card.get("precision", {}).get("cpu"),
        },
        "versions": card.get("versions"),
        "data": card.get("dataset", {}).get("splits"),
        "run_dir": str(run_dir),
    }


def directory_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _split_scores(summary: dict[str, Any]) -> dict[str, Any]:
    keep = ("split", "mode", "examples", "invalid_rate", "examples_per_second")
    return {"metrics": summary["metrics"], **{k: summary.get(k) for k in keep}}


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process; exit code 0 = finished, 1 = failed (see state)."""
    args = sys.argv[1:] if argv is None else argv
    bench, name = BenchDir(Path(args[0])), args[1]
    try:
        run_cell(bench, name)
    except BaseException as error:  # recorded, never lost: the next `bench run` retries
        status = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        set_state(bench.state_path(name), status=status, error=error_line(error))
        if not isinstance(error, PeftctlError):
            traceback.print_exc()
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 1
    return 0


def error_line(error: BaseException) -> str:
    """A failure as one line: a user mistake's message, else the exception and its text."""
    if isinstance(error, PeftctlError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
