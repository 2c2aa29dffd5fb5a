"""Loading causal LMs and their tokenizers: the built-in default model, hub ids, local directories.

Importing this package stays light (no torch); ``load_model`` and ``load_tokenizer`` import the
heavy loader on first use.
"""

from __future__ import annotations

from typing import Any

from peftctl.facts.names import DEFAULT_MODEL, default_gguf_path, is_default_model

__all__ = ["DEFAULT_MODEL", "default_gguf_path", "is_default_model", "load_model", "load_tokenizer"]


def __getattr__(name: str) -> Any:
    if name in ("load_model", "load_tokenizer"):
        from peftctl.models import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
