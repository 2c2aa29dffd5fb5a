"""peftctl: parameter-efficient fine-tuning of LLMs, every method a plugin."""

import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@peftctl.hookimpl``.
hookimpl = pluggy.HookimplMarker("peftctl")

__all__ = ["__version__", "hookimpl"]
