"""galore-torch's optimisers, with a state dict that survives ``torch.load(weights_only=True)``.

GaLore keeps a ``GaLoreProjector`` object per projected weight in the optimiser state;
accelerate reloads checkpoints with ``weights_only=True``, which refuses such objects. The
state dict therefore carries only the projector's matrix (``projector_matrix``); loading
rebuilds the projector from it and the parameter group's GaLore options.
"""

from __future__ import annotations

import torch
from galore_torch import GaLoreAdafactor, GaLoreAdamW, GaLoreAdamW8bit
from galore_torch.galore_projector import GaLoreProjector

from peftctl.api import PeftctlError

PROJECTOR, MATRIX = "projector", "projector_matrix"


def galore_optimizer(groups: list[dict], *, lr: float, kind: str) -> torch.optim.Optimizer:
    """GaLore's ``kind`` optimiser (adamw, adafactor, adamw8bit) over ``groups``; groups with
    a ``rank`` key are projected."""
    if kind == "adamw":
        optimizer = GaLoreAdamW(groups, lr=lr, no_deprecation_warning=True)
    elif kind == "adafactor":
        optimizer = GaLoreAdafactor(
            groups, lr=lr, relative_step=False, scale_parameter=False, warmup_init=False
        )
    elif kind == "adamw8bit":
        require_cuda_for(kind)
        optimizer = GaLoreAdamW8bit(groups, lr=lr)
    else:
        raise PeftctlError(f"method.optimizer={kind} is not a GaLore optimiser; use adamw")
    optimizer.register_state_dict_post_hook(_projectors_to_tensors)
    optimizer.register_load_state_dict_post_hook(_projectors_from_tensors)
    return optimizer


def require_cuda_for(kind: str) -> None:
    """The one-line error for an optimiser this machine cannot run."""
    if kind == "adamw8bit" and not torch.cuda.is_available():
        raise PeftctlError(
            "method.optimizer=adamw8bit needs a CUDA GPU (bitsandbytes' 8-bit optimiser "
            "kernels); use method.optimizer=adamw or adafactor on this machine"
        )


def _projectors_to_tensors(optimizer: torch.optim.Optimizer, state_dict: dict) -> dict:
    state = {}
    for index, values in state_dict["state"].items():
        projector = values.get(PROJECTOR)
        if projector is not None:  # a copy: ``values`` is the live optimiser state
            values = {k: v for k, v in values.items() if k != PROJECTOR}
            values[MATRIX] = projector.ortho_matrix
        state[index] = values
    return {**state_dict, "state": state}


def _projectors_from_tensors(optimizer: torch.optim.Optimizer) -> None:
    for group in optimizer.param_groups:
        for param in group["params"]:
            values = optimizer.state.get(param, {})
            if MATRIX in values:
                projector = GaLoreProjector(
                    group["rank"],
                    update_proj_gap=group["update_proj_gap"],
                    scale=group["scale"],
                    proj_type=group["proj_type"],
                )
                projector.ortho_matrix = values.pop(MATRIX)
                values[PROJECTOR] = projector
