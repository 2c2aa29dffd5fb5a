"""Is bf16 faster than fp32 on this CPU? Measured once, cached per CPU model and torch version.

CPU flags alone mislead: emulated bf16 is ~100x slower than fp32 (AVX2), AVX512-BF16 and AMX
are faster, and a CPU nobody has seen yet may be either. The probe times what PEFT training
does most: forward and backward through frozen linear layers (bf16 weights under autocast, as
``precision=bf16`` trains, against fp32), a fraction of a second. ``precision=auto`` picks bf16
only when it is at least :data:`MIN_SPEEDUP` times faster.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MIN_SPEEDUP = 1.1
PROBE_VERSION = 1
_REPS = 5
_GIVE_UP = 8.0  # bf16 this many times slower than fp32 on the first try: emulated, stop
_STEADY = 1.5  # repeats further apart than this: the machine was busy, do not keep the result


def bf16_speedup(cpu_model: str) -> float:
    """fp32 time / bf16 time of the probe on this CPU (cached; measured on first use)."""
    path = cache_file(cpu_model)
    cached = _read(path)
    if cached is not None:
        return float(cached["speedup"])
    fp32_s, bf16_s, steady = measure()
    record = {
        "cpu_model": cpu_model,
        "torch": _torch_version(),
        "probe_version": PROBE_VERSION,
        "fp32_seconds": round(fp32_s, 6),
        "bf16_seconds": round(bf16_s, 6),
        "speedup": round(fp32_s / bf16_s, 4),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if steady:  # a probe disturbed by other work decides this run only
        _write(path, record)
    return record["speedup"]


def measure() -> tuple[float, float, bool]:
    """Best-of-5 seconds of one probe step in fp32 and in bf16, taken in turns, and whether
    the median repeat was within :data:`_STEADY` of the best (other work on the machine
    spreads them).
    bf16 stops early when it is emulated: a first step :data:`_GIVE_UP` times slower is
    answer enough."""
    import torch

    fp32 = _frozen_mlp(torch.float32)
    bf16 = _frozen_mlp(torch.bfloat16)
    first_fp32, first_bf16 = _step(fp32, autocast=False), _step(bf16, autocast=True)
    if first_bf16 > _GIVE_UP * first_fp32:
        return first_fp32, first_bf16, True
    pairs = [(_step(fp32, autocast=False), _step(bf16, autocast=True)) for _ in range(_REPS)]
    fp32_times, bf16_times = [p[0] for p in pairs], [p[1] for p in pairs]  # in turns
    steady = all(_median(t) < _STEADY * min(t) for t in (fp32_times, bf16_times))
    return min(fp32_times), min(bf16_times), steady


def _median(times: list[float]) -> float:
    return sorted(times)[len(times) // 2]


def cache_file(cpu_model: str) -> Path:
    """Where the probe of ``cpu_model`` with this torch is kept."""
    from peftctl.models.cache import cache_root

    slug = re.sub(r"[^a-z0-9]+", "-", cpu_model.lower()).strip("-") or "cpu"
    return cache_root() / "precision" / f"{slug}-torch{_torch_version()}-v{PROBE_VERSION}.json"


def _frozen_mlp(dtype: Any):
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers = nn.Sequential(nn.Linear(576, 1536), nn.SiLU(), nn.Linear(1536, 576)).to(dtype)
    return layers.requires_grad_(False)


def _step(layers: Any, *, autocast: bool) -> float:
    """Seconds of one forward + backward of 128 tokens through ``layers``."""
    import torch

    tokens = torch.randn(128, 576, requires_grad=True)
    started = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = layers(tokens).float().square().mean()
    loss.backward()
    return time.perf_counter() - started


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record.get("speedup"), (int, float)) else None


def _write(path: Path, record: dict[str, Any]) -> None:
    from peftctl.atomic import write_json_atomic

    with contextlib.suppress(OSError):  # unwritable: measured again next time, that is all
        write_json_atomic(path, record)


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]
