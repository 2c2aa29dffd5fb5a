"""peftctl: parameter-efficient fine-tuning of LLMs, every method a plugin."""

import pluggy

from peftctl import compat_imports
from peftctl.lazy_imports import defer_heavy_imports
from peftctl.library_noise import silence_library_noise

__version__ = "0.3.0"

silence_library_noise()
defer_heavy_imports()  # bitsandbytes: executed when QLoRA first uses it
compat_imports.install()  # plugins written against 0.1/0.2 keep importing moved modules

#: Marker for plugin hook implementations: ``@peftctl.hookimpl``.
hookimpl = pluggy.HookimplMarker("peftctl")

__all__ = ["__version__", "hookimpl"]
