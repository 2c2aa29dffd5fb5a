"""SVFT as a peftctl method: target linears become :class:`~peftctl_svft.layer.SvftLinear`.

``adapter/svft.safetensors`` holds, per adapted layer ``<module>``, only what cannot be
recomputed from the base weights: ``<module>.m`` (M's values, fp32), ``<module>.rows`` /
``<module>.cols`` (M's pattern; for ``random`` and ``top_k`` only: ``plain`` and ``banded``
follow from the rank and ``off_diag``) and, with ``store_singular_vectors``, ``<module>.u`` /
``<module>.v``. ``adapter/adapter_config.json`` holds the options and, per layer, its shape,
rank and the Frobenius norm of its base weight (to catch loading onto another model).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from peftctl.api import (
    Method,
    PeftctlError,
    causal_lm,
    load_adapter_dir,
    save_adapter_dir,
    target_linears,
)
from peftctl_svft.config import SvftConfig
from peftctl_svft.layer import Index, SvftLinear, pattern
from peftctl_svft.svd import Triplet, decompose

WEIGHTS = "svft.safetensors"
#: Patterns whose indices follow from the rank and off_diag (not saved).
DERIVED = ("plain", "banded")
#: Largest relative difference of a base weight's norm from the one saved with the adapter.
NORM_RTOL = 1e-2


class SvftMethod(Method):
    """Singular-vector fine-tuning (Lingam et al., 2024) on the target linear layers."""

    config: SvftConfig

    # -- building ----------------------------------------------------------------------
    def apply(self, model: nn.Module) -> nn.Module:
        model.requires_grad_(False)
        targets = self.targets(model)
        svds = decompose({n: linear.weight for n, linear in targets.items()}, self.config.rank)
        for name, linear in targets.items():
            replace(model, name, self.layer(name, linear, svds[name]))
        return model

    def layer(
        self, name: str, linear: nn.Linear, svd: Triplet, index: Index | None = None
    ) -> SvftLinear:
        """``linear`` adapted with singular triplets ``svd``; M's pattern is ``index`` or
        the configured pattern's."""
        u, v, s = svd
        if index is None:
            index = pattern(
                self.config.pattern, u, v, s,
                off_diag=self.config.off_diag, seed=self.config.seed, layer=name,
            )  # fmt: skip
        return SvftLinear(linear, u, v, index)

    def targets(self, model: nn.Module) -> dict[str, nn.Linear]:
        """``{module name: linear}`` of the layers to adapt (never the LM head)."""
        found = target_linears(model, self.config.target_modules)
        other = next((m for m in found.values() if not isinstance(m, nn.Linear)), None)
        if other is not None:
            raise PeftctlError(
                f"svft adapts nn.Linear layers; this model's targets are {type(other).__name__} "
                "(GPT-2 style, weight stored transposed): use lora or ia3 on it"
            )
        return found

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        adapter_dir = Path(adapter_dir)
        meta, state = load_adapter_dir(adapter_dir, method="svft", weights_file=WEIGHTS)
        self.config = SvftConfig.from_options(meta["options"])
        model.requires_grad_(False)
        linears = {n: saved_linear(model, n, m, adapter_dir) for n, m in meta["layers"].items()}
        svds = self.saved_svds(linears, state, meta["layers"])
        for name, linear in linears.items():
            index = None
            if self.config.pattern not in DERIVED:
                index = state[f"{name}.rows"], state[f"{name}.cols"]
            layer = self.layer(name, linear, svds[name], index)
            with torch.no_grad():
                layer.m.copy_(state[f"{name}.m"])
            layer.m.requires_grad_(trainable)
            replace(model, name, layer)
        return model

    def saved_svds(
        self, linears: dict[str, nn.Linear], state: dict, layers: dict
    ) -> dict[str, Triplet]:
        """U, V (and S) of each layer: from the file when saved there, else a fresh SVD."""
        stored = {n for n in linears if f"{n}.u" in state}
        svds = decompose(
            {n: linears[n].weight for n in linears if n not in stored}, self.config.rank
        )
        for name in stored:
            weight = linears[name].weight
            u, v = (state[f"{name}.{k}"].to(weight.device, weight.dtype) for k in "uv")
            svds[name] = u, v, torch.ones(layers[name]["rank"])  # S: only its length is used
        return svds

    # -- persistence -------------------------------------------------------------------
    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        state: dict[str, torch.Tensor] = {}
        layers: dict[str, dict[str, Any]] = {}
        for name, layer in svft_layers(model).items():
            state[f"{name}.m"] = layer.m.detach().float().cpu().contiguous()
            if self.config.pattern not in DERIVED:
                kind = torch.int16 if layer.rank <= torch.iinfo(torch.int16).max else torch.int32
                state[f"{name}.rows"] = layer.rows.to(kind).cpu().contiguous()
                state[f"{name}.cols"] = layer.cols.to(kind).cpu().contiguous()
            if self.config.store_singular_vectors:
                state[f"{name}.u"] = layer.u.float().cpu().contiguous()
                state[f"{name}.v"] = layer.v.float().cpu().contiguous()
            weight = layer.base.weight
            layers[name] = {
                "shape": list(weight.shape),
                "rank": layer.rank,
                "weight_norm": float(weight.detach().double().norm()),
            }
        save_adapter_dir(
            adapter_dir,
            method="svft",
            weights_file=WEIGHTS,
            weights=state,
            options=asdict(self.config),
            layers=layers,
        )

    # -- inference ---------------------------------------------------------------------
    def merge(self, model: nn.Module) -> nn.Module:
        """The base model with ``W += U M Vᵀ`` in every adapted linear (float64, then cast)."""
        model = causal_lm(model)
        for name, layer in svft_layers(model).items():
            weight = layer.base.weight
            with torch.no_grad():
                weight.copy_((weight.double() + layer.delta_weight()).to(weight.dtype))
            replace(model, name, layer.base)
        model.requires_grad_(False)
        return model

    def unload(self, model: nn.Module) -> nn.Module:
        """The base model: SVFT never changes the base weights until merged."""
        for name, layer in svft_layers(model).items():
            replace(model, name, layer.base)
        return model


def is_linear(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear)


def svft_layers(model: nn.Module) -> dict[str, SvftLinear]:
    base = causal_lm(model)
    return {n: m for n, m in base.named_modules() if isinstance(m, SvftLinear)}


def replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(causal_lm(model).get_submodule(parent), leaf, module)


def saved_linear(model: nn.Module, name: str, meta: dict, adapter_dir: Path) -> nn.Linear:
    """The base linear ``name``, checked against the shape and weight norm saved with it."""
    try:
        linear = causal_lm(model).get_submodule(name)
    except AttributeError:
        linear = None
    if not is_linear(linear) or list(linear.weight.shape) != meta["shape"]:
        raise PeftctlError(
            f"{adapter_dir} adapts '{name}' {meta['shape']}, which this model lacks; load it "
            "onto the base model it was trained from"
        )
    norm = float(linear.weight.detach().double().norm())
    if abs(norm - meta["weight_norm"]) > NORM_RTOL * meta["weight_norm"]:
        raise PeftctlError(
            f"{adapter_dir}: the base weight of '{name}' differs from the one the adapter was "
            f"trained on (norm {norm:.4g}, saved {meta['weight_norm']:.4g}); SVFT's U and V come "
            "from the base weights, so load it onto the same base model"
        )
    return linear
