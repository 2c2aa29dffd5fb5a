"""What the hardware can do fast, and the training precision that follows from it.

bf16 is only worth using where it is faster: on a CPU without AMX or AVX512-BF16 a bf16 matmul
can be ~100x slower than fp32. On a CPU that is measured (:mod:`peftctl.precision_probe`, cached
per CPU model), not read from flags. torch is imported inside functions.
"""

from __future__ import annotations

from pathlib import Path

from peftctl.errors import PeftctlError, did_you_mean

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_capabilities() -> dict[str, str | bool | float]:
    """The CPU model name, whether it has AMX tiles and AVX512-BF16 (as torch reports them),
    and the measured bf16 speed-up over fp32 (what ``precision=auto`` decides by)."""
    from peftctl.precision_probe import bf16_speedup

    model = _cpu_model_name()
    return {
        "cpu_model": model,
        "amx": _torch_cpu_probe("_is_amx_tile_supported"),
        "avx512_bf16": _torch_cpu_probe("_is_avx512_bf16_supported"),
        "bf16_speedup": bf16_speedup(model),
    }


def fast_bf16(device_type: str) -> bool:
    """True when ``device_type`` ("cpu", "cuda", ...) runs bf16 faster than fp32."""
    if device_type == "cuda":
        import torch

        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        from peftctl.precision_probe import MIN_SPEEDUP, bf16_speedup

        return bf16_speedup(_cpu_model_name()) >= MIN_SPEEDUP
    return False


def choose_precision(requested: str, device_type: str) -> str:
    """Resolve ``train.precision`` (auto|fp32|bf16|fp16) to fp32, bf16 or fp16 for the device.

    ``auto`` picks bf16 only where it is fast, else fp32. Explicit bf16 on a CPU without fast
    bf16 is honoured (see ``precision_warning``); fp16 on a CPU is an error.
    """
    if requested not in PRECISIONS:
        raise PeftctlError(
            f"train.precision '{requested}' is not one of {', '.join(PRECISIONS)}"
            f"{did_you_mean(requested, PRECISIONS)}"
        )
    if requested == "auto":
        return "bf16" if fast_bf16(device_type) else "fp32"
    if requested == "fp16" and device_type == "cpu":
        raise PeftctlError("train.precision=fp16 does not run on the CPU; use auto, fp32 or bf16")
    if requested == "bf16" and device_type == "cuda" and not fast_bf16("cuda"):
        raise PeftctlError("train.precision=bf16: this GPU has no bf16 support; use auto or fp16")
    return requested


def precision_warning(precision: str, device_type: str) -> str | None:
    """A message for the user when ``precision`` will run slowly on ``device_type``, else None."""
    if precision != "bf16" or device_type != "cpu":
        return None
    from peftctl.precision_probe import MIN_SPEEDUP, bf16_speedup

    speed = bf16_speedup(_cpu_model_name())
    if speed < MIN_SPEEDUP:
        return (
            f"train.precision=bf16 on this CPU: bf16 measured {speed:.2g}x the speed of fp32 "
            "(no native bf16 makes it up to ~100x slower); use train.precision=auto or fp32"
        )
    return None


def _torch_cpu_probe(name: str) -> bool:
    import torch

    probe = getattr(torch.cpu, name, None)
    return bool(probe()) if callable(probe) else False


def _cpu_model_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    import platform

    return platform.processor() or platform.machine() or "unknown"
