"""The contract every PEFT method implements, and the base of every method's options.

A method plugin registers a :class:`~peftctl.specs.MethodSpec` whose ``impl`` names a
:class:`Method` subclass and whose ``config`` names its :class:`MethodConfig` subclass (kept
in a light module, so recipes validate without importing torch). The trainer only ever
talks to a method through this class. Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    import torch
    from torch import nn

    from peftctl.facts.arch import Arch

C = TypeVar("C", bound="MethodConfig")


@dataclass(kw_only=True)
class MethodConfig:
    """Options of a method (the recipe's ``method.*`` keys). Subclasses add fields, each with
    ``metadata={"help": ...}`` and optional ``min``/``max``/``choices``."""

    name: str = field(metadata={"help": "Registered method name (see `peftctl list-methods`)."})
    init_from: str = field(
        default="",
        metadata={
            "help": "Keep training the adapter of this run directory (or adapter directory) "
            "instead of a fresh one; its method options and base model must be this recipe's."
        },
    )
    # learning rates its optimiser trains with (AdamW here); outside them a run gets a warning
    plausible_lr: ClassVar[tuple[float, float]] = (1e-6, 0.1)

    @classmethod
    def from_options(cls: type[C], options: Mapping[str, Any]) -> C:
        """An instance from ``method.*`` options (e.g. saved in an adapter directory), typed,
        range-checked and validated as a recipe's are."""
        from peftctl.typed import build

        return build(cls, options, "method")

    def validate(self) -> None:
        """Raise :class:`~peftctl.errors.PeftctlError` for options that do not fit together."""

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Parameters these options train on a model of shape ``arch``, computed without torch
        (``peftctl list-methods`` shows it for the default model); None when unknown."""
        return None


TARGETS_HELP = (
    "Modules to adapt: name suffixes, roles (role:query, role:mlp, ...), a regular expression, "
    "or ['all-linear']."
)


@dataclass(kw_only=True)
class TargetModulesConfig(MethodConfig):
    """Options of a method that adapts the modules ``target_modules`` names (queries and values
    by default). A subclass redefines the field for another default and calls
    ``super().validate()`` from its own ``validate``."""

    target_modules: list[str] = field(
        default_factory=lambda: ["role:query", "role:value"], metadata={"help": TARGETS_HELP}
    )

    def validate(self) -> None:
        from peftctl.errors import PeftctlError

        if not self.target_modules:
            raise PeftctlError(
                "method.target_modules is empty; name at least one module (a name suffix, a "
                "role such as role:query, or all-linear)"
            )


class Method:
    """How one PEFT method turns a base model into a trainable one and persists the result.

    Lifecycle: ``apply`` (fresh) or ``load`` (from a saved ``adapter/``), then the trainer
    optimises ``trainable_parameters``/``parameter_groups``, calls ``on_step`` after every
    optimiser step and ``save`` for checkpoints and the final adapter. ``merge`` folds the
    adapter into the base weights where the method allows it.
    """

    def __init__(self, config: MethodConfig) -> None:
        self.config = config

    # -- building ----------------------------------------------------------------------
    def apply(self, model: nn.Module) -> nn.Module:
        """Return ``model`` with the method's trainable parts added (fresh initialisation)."""
        raise NotImplementedError

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        """Return ``model`` with the adapter saved in ``adapter_dir``; ``trainable`` keeps
        training possible (continued training), else everything is frozen (evaluation)."""
        raise NotImplementedError

    # -- training ----------------------------------------------------------------------
    def trainable_parameters(self, model: nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
        """``(name, parameter)`` pairs the optimiser updates."""
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def parameter_groups(self, model: nn.Module, *, lr: float, weight_decay: float) -> list[dict]:
        """Optimiser parameter groups; override for per-group learning rates (e.g. LoRA+).

        Biases and norm weights (1-D tensors) get no weight decay.
        """
        decay, no_decay = [], []
        for _, param in self.trainable_parameters(model):
            (no_decay if param.ndim < 2 else decay).append(param)
        groups = [
            {"params": decay, "lr": lr, "weight_decay": weight_decay},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0},
        ]
        return [group for group in groups if group["params"]]

    def make_optimizer(self, groups: list[dict], *, lr: float) -> torch.optim.Optimizer:
        """The optimiser over :meth:`parameter_groups`' ``groups``: torch AdamW; override
        for a method that is an optimiser (e.g. GaLore's projected AdamW)."""
        import torch

        return torch.optim.AdamW(groups, lr=lr)

    def on_step(self, model: nn.Module, step: int) -> None:
        """Called after each optimiser step, before gradients are zeroed (e.g. AdaLoRA's
        ``update_and_allocate``); ``step`` counts from 1."""

    def regularization(self, model: nn.Module) -> torch.Tensor | None:
        """A term added to each optimiser step's mean token loss (e.g. AdaLoRA's
        orthogonality penalty); None for none. The logged loss stays the token loss."""
        return None

    def hidden_states(self, model: nn.Module, input_ids, attention_mask) -> torch.Tensor:
        """Last hidden states ``[batch, seq, hidden]`` aligned with ``input_ids``.

        The trainer applies the LM head only where a label is taken. Methods that change
        the sequence (prompt tuning) override this and return states of the real tokens.
        """
        backbone = self.decoder(model)
        return backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def packed_hidden_states(
        self, model: nn.Module, input_ids, position_ids, layout: Any
    ) -> torch.Tensor:
        """Last hidden states ``[1, T, hidden]`` of one packed row (several examples in one
        sequence, see :mod:`peftctl.training.packing`); the model's attention reads ``layout``.

        A method that overrides :meth:`hidden_states` overrides this too to be trained packed:
        virtual tokens go in front of the row (``layout.shifted(n)``, states of the row's own
        tokens returned), a key/value prefix goes in as ``past_key_values`` (every token of
        the row sees it). The trainer checks on a few examples that both paths agree.
        """
        backbone = self.decoder(model)
        return backbone(
            input_ids=input_ids, position_ids=position_ids, use_cache=False, packed_layout=layout
        ).last_hidden_state

    def decoder(self, model: nn.Module) -> nn.Module:
        """The decoder stack of ``model``'s causal LM, the module :meth:`hidden_states` runs:
        its forward returns ``last_hidden_state`` (see :func:`decoder_stack`)."""
        return decoder_stack(model)

    @property
    def packs(self) -> bool:
        """True when the trainer may run this method on packed rows."""
        own = type(self).packed_hidden_states is not Method.packed_hidden_states
        return own or not self.changes_sequence

    # -- inference ---------------------------------------------------------------------
    def generation_kwargs(self, batch_size: int) -> dict[str, Any]:
        """Extra keyword arguments the adapted model's ``generate`` needs (e.g. task ids)."""
        return {}

    def prompted_embeddings(self, model: nn.Module, input_ids) -> torch.Tensor | None:
        """For a method whose adapter only puts trained embeddings in front of the input
        (prompt tuning): ``input_ids``' embeddings ``[batch, tokens]`` with them in front,
        ``[batch, n + tokens, hidden]``, meant for positions ``0..n+tokens-1``; the tokens that
        follow run through the base model alone (the server then decodes such requests in the
        base's batch). None, the default, for every other method."""
        return None

    @property
    def changes_sequence(self) -> bool:
        """True when :meth:`hidden_states` is overridden: the model's forward pass sees more
        than the input tokens (virtual tokens, prefixes), so a prompt's KV cache cannot be
        reused on its own (rank evaluation then runs each sequence through ``hidden_states``)."""
        return type(self).hidden_states is not Method.hidden_states

    def unload(self, model: nn.Module) -> nn.Module | None:
        """The base model without this method's changes, so another adapter can be loaded
        onto it; None when the base weights were changed and must be loaded afresh."""
        return None

    # -- persistence -------------------------------------------------------------------
    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        """Write the trainable parameters (safetensors) and whatever ``load`` needs."""
        raise NotImplementedError

    def state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The trainable parameters by name (what checkpoints store)."""
        return {n: p.detach() for n, p in self.trainable_parameters(model)}

    def load_state_dict(self, model: nn.Module, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        params = dict(model.named_parameters())
        missing = set(params_with_grad(model)) - state.keys()
        if missing:
            raise RuntimeError(f"checkpoint lacks trainable parameters: {sorted(missing)[:3]}")
        import torch

        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)

    def merge(self, model: nn.Module) -> nn.Module:
        """Return a plain model with the adapter folded into its weights."""
        from peftctl.errors import PeftctlError

        raise PeftctlError(
            f"method '{self.config.name}' cannot be merged (its adapter is not a weight "
            "update); use the adapter directory with the base model instead"
        )


def params_with_grad(model: nn.Module) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


def causal_lm(model: nn.Module) -> nn.Module:
    """The transformers causal LM inside ``model`` (unwrapping peft / DDP wrappers)."""
    inner = getattr(model, "module", model)  # DistributedDataParallel
    get_base = getattr(inner, "get_base_model", None)
    return get_base() if callable(get_base) else inner


def lm_logits(model: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """The LM head on ``hidden`` states as the model's own forward applies it: Gemma 2's final
    logit softcap (``cap * tanh(logits / cap)``) included."""
    import torch

    lm = causal_lm(model)
    logits = lm.get_output_embeddings()(hidden)
    cap = getattr(lm.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


def decoder_stack(model: nn.Module) -> nn.Module:
    """The decoder stack of the causal LM inside ``model`` (embeddings, layers, final norm;
    no LM head), whose forward returns ``last_hidden_state``.

    ``get_decoder()``, except where that is the causal LM itself: transformers < 5 finds a
    stack only under an attribute named ``model`` or ``decoder``, so on GPT-2, GPT-NeoX,
    Falcon, ... (``transformer``, ``gpt_neox``) it returns the LM, whose output has logits and
    no ``last_hidden_state``; the stack is then the LM's ``base_model``.
    """
    lm = causal_lm(model)
    decoder = lm.get_decoder()
    return lm.base_model if decoder is lm else decoder


def load_adapter(method: Method, model: nn.Module, adapter_dir: Path, *, trainable: bool) -> Any:
    """``method.load`` of ``adapter_dir``, a damaged file named in one line."""
    from peftctl.file_checks import damaged_files

    advice = "train the run again, or restore the file from a copy"
    with damaged_files(Path(adapter_dir), advice):
        return method.load(model, Path(adapter_dir), trainable=trainable)


def write_dir_atomically(target: Path, write: Any) -> None:
    """Create directory ``target`` with ``write(tmp_dir)`` and a rename, replacing an old one:
    a killed process leaves either the old directory or the new one, never half of one."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_dir(target.parent, prefix=f".{target.name}.")
    try:
        write(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _new_dir(parent: Path, prefix: str) -> Path:
    """A new uniquely named directory with the umask's mode (``mkdtemp`` makes it private)."""
    import secrets

    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
