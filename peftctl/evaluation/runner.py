"""``peftctl eval`` end to end: one base model, zero or more adapters switched on it, each
scored on one dataset split; ``metrics.json`` and ``predictions.jsonl`` per adapter.

The base model is loaded once. Between adapters it is restored with the method's
:meth:`~peftctl.methods.base.Method.unload` (peft methods), or loaded afresh when a method
changed its weights (full, freeze).
"""

from __future__ import annotations

import dataclasses
import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftctl.atomic import write_json_atomic, write_jsonl_atomic
from peftctl.config.schema import RecipeConfig
from peftctl.methods.base import MethodConfig, load_adapter
from peftctl.run_files import METRICS, PREDICTIONS


@dataclass(frozen=True)
class Candidate:
    """One model to score: the base alone (``adapter_dir`` None) or base + a saved adapter."""

    name: str
    output_dir: Path
    adapter_dir: Path | None = None
    method: MethodConfig | None = None


@dataclass
class EvalResult:
    """What ``metrics.json`` holds for one candidate."""

    candidate: str
    metrics: dict[str, float]
    summary: dict[str, Any]


@dataclass
class _Session:
    """What every candidate of one ``evaluate`` call shares."""

    config: RecipeConfig
    spec: Any
    examples: Any
    tokenizer: Any
    precision: str
    device_type: str
    quiet: bool
    base_cost: Any = None  # the base model's inference cost (PSCP "minus_base" only)


def evaluate(
    config: RecipeConfig, candidates: list[Candidate], *, quiet: bool = False
) -> list[EvalResult]:
    """Score every candidate on ``config``'s dataset split with ``config.eval`` settings."""
    from peftctl.datasets.loading import dataset_spec, load_split
    from peftctl.evaluation.predict import check_mode

    device_type, precision = inference_device(config)
    examples = load_split(config.dataset, config.eval.split, seed=config.seed)
    spec = dataset_spec(config.dataset)
    check_mode(spec, config.eval.mode)
    tokenizer, base = load_base(config, precision, device_type)
    session = _Session(config, spec, examples, tokenizer, precision, device_type, quiet)
    if config.eval.pscp and config.eval.pscp_variant == "peft_bench":
        session.base_cost = inference_cost(base)
    results = []
    for candidate in candidates:
        method, model, trainable = load_candidate(base, candidate, precision)
        results.append(_score(session, candidate, method, model, trainable))
        base = method.unload(model) if method is not None else model
        del model
        if base is None:  # the method changed the base weights: load them afresh
            gc.collect()
            _, base = load_base(config, precision, device_type)
    return results


def inference_device(config: RecipeConfig) -> tuple[str, str]:
    """(device type, precision) inference runs with: cuda when there is one, and the
    precision ``config.train.precision`` resolves to there."""
    import torch

    from peftctl.hardware import choose_precision

    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    return device_type, choose_precision(config.train.precision, device_type)


def load_base(config: RecipeConfig, precision: str, device_type: str):
    """(tokenizer, base model in eval mode on ``device_type``) of ``config.model``."""
    from peftctl.models.loading import base_dtype, load_model, load_tokenizer

    remote = config.model.trust_remote_code
    tokenizer = load_tokenizer(config.model.name, trust_remote_code=remote)
    model = load_model(config.model.name, dtype=base_dtype(precision), trust_remote_code=remote)
    return tokenizer, model.to(device_type).eval()


def load_candidate(base: Any, candidate: Candidate, precision: str):
    """(method or None, ``base`` with the candidate's adapter, frozen for inference, and the
    trainable parameter count)."""
    import torch

    if candidate.adapter_dir is None:
        return None, base, 0
    from peftctl.plugin_manager import get_plugins

    assert candidate.method is not None
    method = get_plugins().methods.get(candidate.method.name).load()(candidate.method)
    base_buffers = {id(buffer) for buffer in base.buffers()}  # e.g. rotary inv_freq: kept
    # loaded trainable, so the count is exactly what the method trains; then frozen
    model = load_adapter(method, base, candidate.adapter_dir, trainable=True)
    trainable = sum(p.numel() for _, p in method.trainable_parameters(model))
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    # adapters saved in fp32 run in the base's dtype: their parameters and the buffers they
    # bring (VeRA's shared projections)
    adapter_buffers = [b for b in model.buffers() if id(b) not in base_buffers]
    for tensor in [*model.parameters(), *adapter_buffers]:
        tensor.requires_grad_(False)
        if tensor.is_floating_point() and tensor.dtype != dtype:
            tensor.data = tensor.data.to(dtype)
    return method, model.eval(), trainable


def _score(
    session: _Session, candidate: Candidate, method: Any, model: Any, trainable: int
) -> EvalResult:
    """Predict, score and write one candidate's ``metrics.json`` and ``predictions.jsonl``."""
    from peftctl.evaluation.predict import predict

    config, spec, examples = session.config, session.spec, session.examples
    settings = config.eval
    bar = _Progress(f"eval {candidate.name}", len(examples), session.quiet)
    started = time.perf_counter()
    predictions = predict(
        model,
        method,
        session.tokenizer,
        examples,
        spec,
        mode=settings.mode,
        batch_size=settings.batch_size,
        max_new_tokens=settings.max_new_tokens,
        length_normalise=settings.length_normalise,
        on_batch=bar.advance,
    )
    seconds = time.perf_counter() - started
    bar.close()
    metrics, cost = _metrics(session, predictions, method, model, trainable)
    summary = {
        "candidate": candidate.name,
        "model": config.model.name,
        "adapter": str(candidate.adapter_dir) if candidate.adapter_dir else None,
        "method": candidate.method.name if candidate.method else None,
        "dataset": spec.name,
        "split": settings.split,
        "mode": settings.mode,
        "metrics": metrics,
        "primary_metric": next(iter(metrics)),
        "metric_notes": _notes(list(metrics), spec),
        "examples": len(predictions),
        "invalid_rate": sum(p.prediction is None for p in predictions) / max(len(predictions), 1),
        "examples_per_second": round(len(predictions) / max(seconds, 1e-9), 3),
        "wall_seconds": round(seconds, 3),
        "precision": session.precision,
        "memory": _peak_memory(session.device_type),
        "trainable_params": trainable,
        "inference_cost": dataclasses.asdict(cost) if cost else None,
        "pscp_variant": settings.pscp_variant if settings.pscp else None,
        "settings": dataclasses.asdict(settings),
        "data": getattr(examples, "origin", None),
        "output_dir": str(candidate.output_dir),
    }
    out = candidate.output_dir
    write_jsonl_atomic(out / PREDICTIONS, [dataclasses.asdict(p) for p in predictions])
    write_json_atomic(out / METRICS, summary)
    return EvalResult(candidate.name, metrics, summary)


def _metrics(session: _Session, predictions: list, method: Any, model: Any, trainable: int):
    """Every metric of the dataset (+ PSCP with the measured cost), and that cost."""
    from peftctl.metrics.compute import compute_metrics

    settings, spec = session.config.eval, session.spec
    names, inputs, cost = list(spec.metrics), {}, None
    if settings.pscp:
        cost = inference_cost(model, method)
        names.append("pscp")
        inputs = {
            "trainable_params": trainable,
            "inference_cost": cost,
            "base_inference_cost": session.base_cost,
            "pscp_constants": _pscp_constants(settings.pscp_variant),
        }
    metrics = compute_metrics(
        names,
        [p.prediction for p in predictions],
        [p.gold for p in predictions],
        labels=list(spec.verbalizers) or None,
        inputs=inputs,
    )
    return metrics, cost


def _notes(names: list[str], spec: Any) -> dict[str, str]:
    from peftctl.metrics.compute import metric_notes

    return metric_notes(names, labels=list(spec.verbalizers) or None)


def _peak_memory(device_type: str) -> dict[str, int]:
    from peftctl.memory import peak_memory

    return peak_memory(device_type)


def inference_cost(model: Any, method: Any = None, *, seq_len: int = 512) -> Any:
    """PSCP's measured inference cost of ``model`` with ``method``'s adapter applied."""
    from peftctl.evaluation.pscp import measure_inference_cost

    extra = method.generation_kwargs(1) if method is not None else {}
    return measure_inference_cost(model, seq_len=seq_len, forward_kwargs=extra)


def _pscp_constants(variant: str):
    from peftctl.evaluation.pscp import PSCPConstants

    return PSCPConstants.peft_bench_script() if variant == "peft_bench" else PSCPConstants()


class _Progress:
    """A rich progress bar over examples (silent when quiet)."""

    def __init__(self, label: str, total: int, quiet: bool) -> None:
        self._bar = None
        if quiet:
            return
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            f"[bold]{label}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._task = self._bar.add_task(label, total=total)
        self._bar.start()

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
