"""peftctl: parameter-efficient fine-tuning of LLMs, every method a plugin."""

import pluggy

from peftctl.library_noise import silence_library_noise

__version__ = "0.3.0"

silence_library_noise()

#: Marker for plugin hook implementations: ``@peftctl.hookimpl``.
hookimpl = pluggy.HookimplMarker("peftctl")

__all__ = ["__version__", "hookimpl"]
