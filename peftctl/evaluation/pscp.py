"""PSCP, the efficiency-aware score, and the measurement of its inference inputs.

PSCP = P · Π_i (1 + M_i / C_i)^(−β_i) over i in {trainable parameters, inference FLOPs,
inference memory}; docs/metrics.md says how each M_i is measured. torch is imported only by
:func:`measure_inference_cost`.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from peftctl.errors import PeftctlError

FLOPS_MODES = ("absolute", "minus_base")


@dataclass(frozen=True)
class PSCPConstants:
    """Reference scales C_i and exponents β_i of PSCP (defaults: PEFT-Factory's built-in)."""

    c_params: float = 5e8  # trainable parameters
    c_flops: float = 1e13  # FLOPs of one standard forward pass (10 TFLOPs)
    c_memory_bytes: float = 94e9  # peak inference memory (94 GB)
    beta_params: float = 1.0
    beta_flops: float = 1.0
    beta_memory: float = 1.0
    #: "absolute": the adapted model's FLOPs; "minus_base": minus the base model's FLOPs.
    flops_mode: str = "absolute"

    def __post_init__(self) -> None:
        if self.flops_mode not in FLOPS_MODES:
            raise PeftctlError(f"pscp flops_mode must be one of {', '.join(FLOPS_MODES)}")
        if min(self.c_params, self.c_flops, self.c_memory_bytes) <= 0:
            raise PeftctlError("pscp constants c_params, c_flops, c_memory_bytes must be > 0")

    @classmethod
    def peft_bench_script(cls) -> PSCPConstants:
        """The PEFT-Bench paper script's variant: β = 2 and FLOPs above the base model's."""
        return cls(beta_params=2.0, beta_flops=2.0, beta_memory=2.0, flops_mode="minus_base")


@dataclass(frozen=True)
class InferenceCost:
    """What one standard forward pass (``batch`` × ``seq_len`` tokens) costs."""

    flops: int  # matmul/attention FLOPs counted by torch's FlopCounterMode
    peak_memory_bytes: int  # peak memory while it ran, model weights included
    wall_time_s: float  # wall-clock seconds of one warm pass
    memory_source: str = ""  # how peak_memory_bytes was measured


def pscp(
    primary: float,
    *,
    trainable_params: float,
    flops: float,
    memory_bytes: float,
    constants: PSCPConstants | None = None,
) -> float:
    """P · Π_i (1 + M_i / C_i)^(−β_i); a negative P (a correlation) counts as 0."""
    if primary > 1.0 + 1e-9:
        raise ValueError(f"PSCP needs the primary score in [0, 1], got {primary}")
    if min(trainable_params, flops, memory_bytes) < 0:
        raise ValueError("PSCP inputs must be >= 0")
    constants = constants or PSCPConstants()
    score = max(primary, 0.0)
    for amount, scale, beta in (
        (trainable_params, constants.c_params, constants.beta_params),
        (flops, constants.c_flops, constants.beta_flops),
        (memory_bytes, constants.c_memory_bytes, constants.beta_memory),
    ):
        score *= (1.0 + amount / scale) ** (-beta)
    return score


def pscp_metric(
    predictions: Sequence[Any],
    references: Sequence[Any],
    *,
    primary: float,
    trainable_params: int,
    inference_cost: InferenceCost,
    base_inference_cost: InferenceCost | None = None,
    pscp_constants: PSCPConstants | None = None,
    labels: Sequence[str] | None = None,
) -> float:
    """PSCP as a metric plugin: the evaluator passes the primary score and measured costs."""
    constants = pscp_constants or PSCPConstants()
    flops = inference_cost.flops
    if constants.flops_mode == "minus_base":
        if base_inference_cost is None:
            raise PeftctlError("pscp flops_mode=minus_base needs the base model's inference cost")
        flops = max(flops - base_inference_cost.flops, 0)
    return pscp(
        primary,
        trainable_params=trainable_params,
        flops=flops,
        memory_bytes=inference_cost.peak_memory_bytes,
        constants=constants,
    )


# --- measurement ----------------------------------------------------------------------------


def measure_inference_cost(
    model: Any, *, seq_len: int = 512, batch: int = 1, forward_kwargs: dict | None = None
) -> InferenceCost:
    """FLOPs, peak memory and wall time of one forward pass over ``batch`` × ``seq_len`` tokens
    (``forward_kwargs``: what the adapted model's forward also needs, e.g. MTP task ids).

    The model is measured as given (adapter applied). After a warm-up pass (one-time
    library initialisation is no inference memory), memory is measured on one pass, FLOPs
    on a second under FlopCounterMode, wall time on a third.
    """
    import torch

    device = next(model.parameters()).device
    input_ids = standard_input(model, seq_len=seq_len, batch=batch).to(device)
    was_training = model.training
    model.eval()
    # nothing needs gradients: torch's FLOP counter hooks every input that does, and fails on
    # a trained parameter used as a module input (Llama-Adapter's prompts)
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        for param in trainable:
            param.requires_grad_(False)
        with torch.inference_mode():
            run = lambda: _forward(model, input_ids, forward_kwargs or {})  # noqa: E731
            run()
            peak, source = measure_peak_memory(run, model, device)
            flops = count_flops(run)
            wall_time = _timed(run, device)
    finally:
        for param in trainable:
            param.requires_grad_(True)
        model.train(was_training)
    return InferenceCost(flops, peak, wall_time, source)


def standard_input(model: Any, *, seq_len: int = 512, batch: int = 1) -> Any:
    """Token ids drawn uniformly from the vocabulary with a fixed seed (same for every model)."""
    import torch

    vocab = model.get_input_embeddings().num_embeddings
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, vocab, (batch, seq_len), generator=generator)


def count_flops(run: Callable[[], Any]) -> int:
    """FLOPs of ``run()`` as FlopCounterMode counts them (matmuls, convolutions, attention).

    CPU attention kernels missing from torch's registry are counted with its SDPA formula,
    so the count does not depend on the device.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    extra = {}
    cpu_sdpa = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if cpu_sdpa is not None:
        extra[cpu_sdpa] = _sdpa_flops
    counter = FlopCounterMode(display=False, custom_mapping=extra)
    with counter:
        run()
    return int(counter.get_total_flops())


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


def measure_peak_memory(run: Callable[[], Any], model: Any, device: Any) -> tuple[int, str]:
    """(peak bytes while ``run()`` runs, how it was measured).

    CUDA: ``max_memory_allocated`` after a reset (everything allocated on the device,
    weights included). CPU: the bytes of the model's parameters and buffers plus the rise
    of the process's resident set over its level before the run (peak RSS delta).
    """
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device)), "cuda max_memory_allocated"
    weights = model_bytes(model)
    delta, how = peak_rss_delta(run)
    return weights + delta, f"cpu parameter bytes + peak RSS delta ({how})"


def model_bytes(model: Any) -> int:
    """Bytes held by the model's parameters and buffers."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def peak_rss_delta(run: Callable[[], Any]) -> tuple[int, str]:
    """(highest resident set size during ``run()`` minus the size before, method).

    On Linux the kernel's high-water mark is reset first (``/proc/self/clear_refs``) and read
    after (``VmHWM``): exact, nothing is missed between samples. Elsewhere a thread samples
    RSS every millisecond (psutil); it misses spikes shorter than that or made while the GIL
    is held (torch kernels release it). Memory the allocator kept from earlier work and reuses is
    not counted either way, so this is a lower bound of the memory the pass needs.
    """
    if sys.platform.startswith("linux"):
        _return_free_heap_to_os()
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
        except OSError:
            pass
        else:
            before = _proc_status("VmRSS")
            run()
            return max(_proc_status("VmHWM") - before, 0), "VmHWM"
    return _sampled_rss_delta(run)


def _return_free_heap_to_os() -> None:
    """glibc keeps freed memory for reuse, which would hide it from the RSS delta."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _proc_status(field: str) -> int:
    with open("/proc/self/status") as handle:
        match = re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def _sampled_rss_delta(run: Callable[[], Any]) -> tuple[int, str]:
    try:
        import psutil
    except ImportError:
        run()
        return 0, "not measured: install psutil"
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.001):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join()
    return max(max(peak[0], process.memory_info().rss) - before, 0), "sampled every 1 ms"


def _forward(model: Any, input_ids: Any, kwargs: dict) -> Any:
    import torch

    mask = torch.ones_like(input_ids)
    return model(input_ids=input_ids, attention_mask=mask, use_cache=False, **kwargs)


def _timed(run: Callable[[], Any], device: Any) -> float:
    import torch

    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start
