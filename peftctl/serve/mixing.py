"""LoRA adapters decoded in one batch: peft's mixed-adapter forward (``adapter_names``: each
row of a batch picks its adapter, ``__base__`` for none) on one module tree that shares the
base's tensors and holds every mixable adapter. The base's lane decodes on it, so requests
for the base, for prompt adapters and for any LoRA adapter share forward passes."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from peftctl.methods.adapter_dir import CONFIG_FILE

#: peft's adapter name of a row that uses none
BASE_ROW = "__base__"


def mixable(adapter_dir: Path) -> bool:
    """Whether peft can mix the adapter saved at ``adapter_dir`` per row: plain LoRA (peft
    refuses ``adapter_names`` with DoRA)."""
    try:
        config = json.loads((adapter_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get("peft_type") == "LORA" and not config.get("use_dora")


class LoraMix:
    """The tree holding every mixed LoRA adapter (None until the first is added). Its LoRA
    layers carry a forward pre-hook that hands them the rows' adapter names of the pass in
    progress (:func:`rows_pick`): registered once, not on every forward pass as peft's
    ``adapter_names`` argument does (which cost 15-25 % of a decoding step here)."""

    def __init__(self, tree: Any) -> None:
        self.tree, self.model = tree, None
        self.rows: list[list[str] | None] = [None]  # the names of the pass in progress
        self._hooked: set[int] = set()

    def add(self, name: str, adapter_dir: Path, alone: Any) -> bool:
        """Load adapter ``name``; True when its rows decode here as on ``alone`` (its own
        adapted model), else it is taken out again and False."""
        from peft import PeftModel

        if self.model is None:
            self.model = PeftModel.from_pretrained(self.tree, str(adapter_dir), adapter_name=name)
        else:
            self.model.load_adapter(str(adapter_dir), adapter_name=name)
        self.model.eval()
        self.model.peftctl_rows = self.rows
        self._hook_layers()
        _match_dtype(self.model, name, alone)
        if _same_logits(self.model, name, alone):
            return True
        self.remove(name)
        return False

    def _hook_layers(self) -> None:
        from peft.tuners.lora import LoraLayer

        for module in self.model.modules():
            if isinstance(module, LoraLayer) and id(module) not in self._hooked:
                inject = functools.partial(_inject_names, rows=self.rows)
                module.register_forward_pre_hook(inject, with_kwargs=True)
                self._hooked.add(id(module))

    def remove(self, name: str) -> None:
        if self.model is not None and name in self.model.peft_config:
            if len(self.model.peft_config) > 1:
                self.model.delete_adapter(name)
            else:  # peft keeps one adapter: leave it, no row names it
                self.model.base_model.set_adapter(name)


@contextlib.contextmanager
def rows_pick(model: Any, names: Sequence[str]) -> Iterator[None]:
    """Within: a forward pass of the mix gives row ``i`` adapter ``names[i]`` (nothing for a
    model without mixed adapters; one forward pass at a time, as the engine's loop runs)."""
    rows = getattr(model, "peftctl_rows", None)
    if rows is None:
        yield
        return
    rows[0] = list(names)
    try:
        yield
    finally:
        rows[0] = None


def _inject_names(
    module: Any, args: tuple, kwargs: dict, rows: list[list[str] | None]
) -> tuple[tuple, dict]:
    if rows[0] is not None:
        kwargs["adapter_names"] = rows[0]
    return args, kwargs


def _match_dtype(model: Any, name: str, alone: Any) -> None:
    """Store adapter ``name``'s weights in the dtype they have on ``alone`` (peft loads them
    in fp32, peftctl in the serving precision: bf16 rounding apart, answers would differ)."""
    dtype = next((p.dtype for n, p in alone.named_parameters() if "lora_" in n), None)
    for param_name, param in model.named_parameters():
        if dtype is not None and "lora_" in param_name and f".{name}." in f"{param_name}.":
            param.data = param.data.to(dtype)


def _same_logits(model: Any, name: str, alone: Any) -> bool:
    ids = torch.arange(1, 9, device=next(model.parameters()).device)[None]
    with torch.inference_mode():
        with rows_pick(model, [name]):
            mixed = model(input_ids=ids).logits.float()
        own = alone(input_ids=ids).logits.float()
    return bool(torch.allclose(mixed, own, rtol=1e-3, atol=1e-3 * float(own.abs().max())))
