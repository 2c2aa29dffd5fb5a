"""What it takes to ship a cell's adapter, measured: its size, whether it merges, the score
after merging and after a GGUF q8_0 export read back by transformers' GGUF loader, and the
per-token generate latency with the adapter applied and merged (``deploy: true`` in a spec).

The merged model and the GGUF file are written under the run directory, scored like the
cell (same split, mode and precision; predictions kept in ``deploy/<form>/``), then deleted.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError
from peftctl.run_files import ADAPTER

DEPLOY_DIR = "deploy"
MERGED = "merged"
GGUF_Q8 = "gguf-q8_0"
LATENCY_TOKENS = 32  # decode steps timed after the first token
LATENCY_PROMPT = "Summarise in one sentence why adapters make fine-tuning cheap."
LATENCY_REPEATS = 3


def deployability(config: Any, run_dir: Path, split: str) -> dict[str, Any]:
    """The cell's deployability record (see ``docs/bench.md``, "Deployability")."""
    from peftctl.bench.worker import directory_bytes
    from peftctl.plugin_manager import get_plugins

    spec = get_plugins().methods.get(config.method.name)
    record: dict[str, Any] = {
        "mergeable": spec.mergeable,
        "adapter_bytes": directory_bytes(run_dir / ADAPTER),
        "split": split,
        "ms_per_token": latency(config, run_dir, merge=spec.mergeable),
        "latency_tokens": LATENCY_TOKENS,
    }
    if spec.mergeable:
        record.update(_merged_scores(config, run_dir, split))
    return record


def _merged_scores(config: Any, run_dir: Path, split: str) -> dict[str, Any]:
    """Scores of the merged model (fp32 safetensors) and of its q8_0 GGUF read back."""
    from peftctl.export.plan import plan_export
    from peftctl.export.run import export_run

    work = run_dir / DEPLOY_DIR / "tmp"
    shutil.rmtree(work, ignore_errors=True)
    found: dict[str, Any] = {}
    try:
        merged = work / MERGED
        export_run(plan_export(run_dir, "merged", quant="f32", output=merged))
        found["merged_score"] = _score(config, run_dir, merged, MERGED, split)
        gguf = work / "model-q8_0.gguf"
        try:
            written = export_run(plan_export(run_dir, "gguf", quant="q8_0", output=gguf))
        except PeftctlError as refused:  # e.g. a family the GGUF writer does not know
            found.update(gguf_q8_0_score=None, gguf_note=str(refused))
            return found
        found["gguf_q8_0_bytes"] = written.nbytes
        found["gguf_q8_0_score"] = _score(config, run_dir, gguf, GGUF_Q8, split)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return found


def _score(config: Any, run_dir: Path, model: Path, form: str, split: str) -> float | None:
    """The primary score of ``model`` (no adapter) on the cell's ``split``, written to
    ``deploy/<form>/``."""
    from peftctl.config.recipe import load_recipe
    from peftctl.evaluation.runner import Candidate, evaluate
    from peftctl.run_files import RECIPE

    overrides = [f"model.name={model}", f"eval.split={split}", f"eval.mode={config.eval.mode}"]
    scored = load_recipe(run_dir / RECIPE, overrides)
    out = run_dir / DEPLOY_DIR / form
    summary = evaluate(scored, [Candidate(form, out)], quiet=True)[0].summary
    value = summary["metrics"].get(summary["primary_metric"])
    return float(value) if isinstance(value, (int, float)) else None


def latency(config: Any, run_dir: Path, *, merge: bool) -> dict[str, float | None]:
    """Milliseconds per generated token (greedy, after the first) with the adapter applied
    and, when ``merge``, merged into the base; the eval precision, one process."""
    from peftctl.evaluation.runner import Candidate
    from peftctl.inference.completion import Talker, encode_prompt, load_talker

    candidate = Candidate(run_dir.name, run_dir, run_dir / ADAPTER, config.method)
    talker = load_talker(config, candidate)
    prompt = encode_prompt(talker, LATENCY_PROMPT)
    timings: dict[str, float | None] = {"adapter": ms_per_token(talker, prompt), "merged": None}
    if merge:
        merged = Talker(talker.name, talker.method.merge(talker.model), talker.tokenizer)
        timings["merged"] = ms_per_token(merged, prompt)
    return timings


def ms_per_token(talker: Any, prompt: list[int]) -> float:
    """Median over repeats of (time for 1 + N tokens - time for 1 token) / N, in ms: the
    decode cost alone, without the prompt's prefill."""
    from peftctl.inference.completion import complete

    def seconds(tokens: int) -> float:
        started = time.perf_counter()
        complete(talker, prompt, max_new_tokens=tokens, ignore_eos=True)
        return time.perf_counter() - started

    seconds(2)  # warm-up: first-call allocations
    decode = [seconds(1 + LATENCY_TOKENS) - seconds(1) for _ in range(LATENCY_REPEATS)]
    return round(1000 * statistics.median(decode) / LATENCY_TOKENS, 3)
