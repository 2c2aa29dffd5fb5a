"""Silences library messages a peftctl user can neither act on nor avoid.

Installed when ``peftctl`` is imported (a logging filter costs nothing and must be in place
before the library that logs is imported). Each entry names the logger and the exact start of
the message; everything else the libraries say still reaches the user.
"""

from __future__ import annotations

import logging

#: logger name -> message starts dropped there
NOISE = {
    # bitsandbytes >= 0.49 on an avx512-bf16 CPU, at import (peft imports bitsandbytes whenever
    # it is installed): an optional kernel package is missing; the fallback kernel is used.
    "bitsandbytes.backends.cpu.ops": (
        "Failed to load CPU gemm_4bit_forward from kernels-community",
    ),
}


#: (category, message start) of Python warnings dropped everywhere
WARNINGS = (
    # transformers >= 5.24 renamed the property; peft 0.21 still reads the old name whenever it
    # wraps a model (every run)
    (FutureWarning, "`is_gradient_checkpointing` is deprecated"),
)


class _DropMessages(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.starts)


def silence_library_noise() -> None:
    """Install the filters (idempotent)."""
    import re
    import warnings

    for category, start in WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(start), category=category)
    for name, starts in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(starts))
