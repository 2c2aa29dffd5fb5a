"""Peak memory of this process: GPU allocator peak on CUDA, peak resident set size on CPU."""

from __future__ import annotations

import resource
import sys


def peak_rss_bytes() -> int:
    """Highest resident set size this process has reached (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss_bytes() -> int | None:
    """Resident set size now (Linux ``/proc/self/statm``); None elsewhere."""
    import os

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_memory(device_type: str) -> dict[str, int]:
    """``{"peak_rss_bytes": ...}`` plus ``"peak_gpu_bytes"`` when running on CUDA."""
    stats = {"peak_rss_bytes": peak_rss_bytes()}
    if device_type == "cuda":
        import torch

        stats["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated())
    return stats
