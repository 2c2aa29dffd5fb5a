"""Bottleneck adapters through the ``adapters`` library.

``adapters.init`` makes a transformers model adapter-aware in place; the adapter is added,
activated and trained under one name. ``adapter/`` is what ``save_adapter`` writes
(``adapter_config.json`` and the adapter's weights in safetensors, no prediction head), so
AdapterHub tooling loads it too.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import adapters
from torch import nn

from peftctl.api import Method, PeftctlError, causal_lm, write_dir_atomically
from peftctl_adapters.config import BottleneckConfig, ParBnConfig

#: Name of the adapter inside the model.
ADAPTER = "peftctl"
CONFIG_FILE = "adapter_config.json"
#: Options that tell the three architectures apart in a saved ``adapter_config.json``.
ARCHITECTURE_KEYS = ("mh_adapter", "output_adapter", "is_parallel")


class BottleneckMethod(Method):
    """Shared by the three architectures; subclasses build the library's config."""

    config: BottleneckConfig

    def adapter_config(self) -> adapters.BnConfig:
        raise NotImplementedError

    def common_options(self) -> dict:
        cfg = self.config
        return {
            "reduction_factor": cfg.reduction_factor,
            "non_linearity": cfg.non_linearity,
            "dropout": cfg.dropout,
            "leave_out": list(cfg.leave_out),
        }

    def apply(self, model: nn.Module) -> nn.Module:
        self._check_leave_out(model)
        init_adapters(model)
        with _no_inactive_adapter_warning():
            model.add_adapter(ADAPTER, config=self.adapter_config())
            model.train_adapter(ADAPTER)  # freezes the base model, activates the adapter
        return model

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        self._check_saved_architecture(Path(adapter_dir))
        init_adapters(model)
        with _no_inactive_adapter_warning():
            model.load_adapter(
                str(adapter_dir), load_as=ADAPTER, with_head=False, use_safetensors=True
            )
            if trainable:
                model.train_adapter(ADAPTER)
            else:
                model.set_active_adapters(ADAPTER)
                model.requires_grad_(False)
        return model

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        inner = causal_lm(model)
        write_dir_atomically(
            Path(adapter_dir),
            lambda tmp: inner.save_adapter(
                str(tmp), ADAPTER, with_head=False, use_safetensors=True
            ),
        )

    def merge(self, model: nn.Module) -> nn.Module:
        raise PeftctlError(
            f"method '{self.config.name}' cannot be merged: a bottleneck adapter has a "
            "non-linearity between its projections, so it is no weight update; evaluate the "
            "adapter directory with the base model instead"
        )

    def _check_saved_architecture(self, adapter_dir: Path) -> None:
        """A clear error when ``adapter_dir`` is no adapter, or one of another architecture."""
        path = adapter_dir / CONFIG_FILE
        if not path.is_file():
            raise PeftctlError(
                f"{adapter_dir} has no {CONFIG_FILE}; is it a '{self.config.name}' adapter "
                "saved by peftctl-adapters?"
            )
        saved = json.loads(path.read_text(encoding="utf-8")).get("config", {})
        expected = self.adapter_config()
        for key in ARCHITECTURE_KEYS:
            if saved.get(key) != expected[key]:
                raise PeftctlError(
                    f"{adapter_dir} holds an adapter with {key}={saved.get(key)}, not a "
                    f"'{self.config.name}' adapter ({key}={expected[key]}); use the method it "
                    "was trained with"
                )

    def _check_leave_out(self, model: nn.Module) -> None:
        layers = len(causal_lm(model).get_decoder().layers)
        outside = [i for i in self.config.leave_out if i >= layers]
        if outside:
            raise PeftctlError(
                f"method.leave_out names layers {outside} but the model has {layers} "
                f"(0..{layers - 1}); remove them"
            )
        if len(set(self.config.leave_out)) >= layers:
            raise PeftctlError("method.leave_out names every layer; leave at least one adapter")


class DoubleSeqBnMethod(BottleneckMethod):
    """Houlsby adapters: after the attention and after the feed-forward block."""

    def adapter_config(self) -> adapters.BnConfig:
        return adapters.DoubleSeqBnConfig(**self.common_options())


class SeqBnMethod(BottleneckMethod):
    """Pfeiffer adapter: after the feed-forward block."""

    def adapter_config(self) -> adapters.BnConfig:
        return adapters.SeqBnConfig(**self.common_options())


class ParBnMethod(BottleneckMethod):
    """Parallel adapter beside the feed-forward block, its output scaled."""

    config: ParBnConfig

    def adapter_config(self) -> adapters.BnConfig:
        return adapters.ParBnConfig(**self.common_options(), scaling=self.config.scaling)


def init_adapters(model: nn.Module) -> None:
    """``adapters.init(model)``, and its layers given the KV cache under their old name.

    adapters 1.3.0's Llama layers take ``past_key_value`` while transformers 4.57 passes
    ``past_key_values``: the cache would be dropped silently and cached generation would see
    only the newest token (adapter-hub/adapters#824). Layers that already take the new name
    get no hook, so a fixed adapters release makes this a no-op.
    """
    adapters.init(model)
    for module in model.modules():
        params = inspect.signature(type(module).forward).parameters
        if "past_key_value" in params and "past_key_values" not in params:
            module.register_forward_pre_hook(_rename_cache_kwarg, with_kwargs=True)


def _rename_cache_kwarg(module: nn.Module, args: tuple, kwargs: dict[str, Any]):
    if "past_key_values" in kwargs and kwargs.get("past_key_value") is None:
        kwargs["past_key_value"] = kwargs.pop("past_key_values")
    return args, kwargs


@contextmanager
def _no_inactive_adapter_warning() -> Iterator[None]:
    """Silence "adapters available but none are activated": activating an adapter resets the
    model's adapter state through a forward context that still sees none active."""
    logger = logging.getLogger("adapters.model_mixin")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
