"""Packed micro-batches: no padding in the linear layers, a shared prompt prefix run once.

A micro-batch becomes one row: the longest token prefix that every example shares and that
carries no loss (a system prompt and instruction, typically), then each example's remaining
tokens up to its last loss target (tokens after it influence no loss). ``position_ids``
continue from the prefix in every example, so each example sees exactly the positions and
the context it would see alone.

The linear layers, norms and MLPs (nearly all the FLOPs) run once per packed token.
Attention runs through :func:`packed_attention_forward`, registered with transformers as
``peftctl_packed``: the prefix attends causally to itself, and each example, padded only
inside attention, attends to the prefix and causally to itself. The loss and gradients equal
those of the padded batch up to float rounding (tests compare them); the trainer checks that
the model really honours the layout before it uses it (:func:`packing_mismatch`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from peftctl.methods.base import causal_lm
from peftctl.training.batching import IGNORE_INDEX, TokenData

ATTENTION = "peftctl_packed"
#: transformers attention implementations whose semantics the packed kernel reproduces.
PACKABLE = ("sdpa", "eager")


class PackingUnsupported(RuntimeError):
    """The model asked the packed attention for something it does not implement."""


@dataclass
class SegmentLayout:
    """Where each example's tokens sit in the packed row, for the attention kernel.

    ``index[k, j]`` is the row position of example ``k``'s ``j``-th token after the prefix
    (0 where ``valid`` is False: attention-only padding).
    """

    prefix: int
    index: torch.Tensor  # [examples, width] long
    valid: torch.Tensor  # [examples, width] bool
    eager: bool = False  # matmul + fp32 softmax instead of torch's fused SDPA

    def to(self, device: torch.device | str) -> SegmentLayout:
        return SegmentLayout(self.prefix, self.index.to(device), self.valid.to(device), self.eager)

    def shifted(self, n: int) -> SegmentLayout:
        """The layout of the row with ``n`` more shared tokens in front (virtual tokens)."""
        return SegmentLayout(self.prefix + n, self.index + n, self.valid, self.eager)

    def attend(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        *,
        scale: float | None,
        dropout: float,
        softcap: float | None = None,
    ) -> torch.Tensor:
        """Attention of a packed row: ``[1, heads, T, dim]`` in, ``[1, T, heads, dim]`` out.

        Keys and values may be longer than the queries by a cache in front (a prefix
        method's key/value prefix): every query sees it.
        """
        cached = key.shape[2] - query.shape[2]
        shared, groups = cached + self.prefix, query.shape[1] // key.shape[1]
        segment_q = self._segments(query)
        segment_k, segment_v = (self._segments(t[:, :, cached:]) for t in (key, value))
        mask = None
        if shared:
            n = segment_q.shape[0]
            segment_k = torch.cat([key[:, :, :shared].expand(n, -1, -1, -1), segment_k], dim=2)
            segment_v = torch.cat([value[:, :, :shared].expand(n, -1, -1, -1), segment_v], dim=2)
            mask = _mask(segment_q.shape[2], shared, query.device)
        kernel = _Kernel(scale, dropout, groups, self.eager, softcap)
        out = kernel(segment_q, segment_k, segment_v, mask)
        out = out.transpose(1, 2)[self.valid]  # [tokens after the prefix, heads, dim]
        if self.prefix:
            q, k, v = query[:, :, : self.prefix], key[:, :, :shared], value[:, :, :shared]
            mask = _mask(self.prefix, cached, query.device) if cached else None
            head = kernel(q, k, v, mask)
            out = torch.cat([head.transpose(1, 2)[0], out])
        return out.unsqueeze(0)

    def _segments(self, states: torch.Tensor) -> torch.Tensor:
        """``[1, heads, T, dim]`` -> ``[examples, heads, width, dim]``."""
        return states[0][:, self.index].transpose(0, 1)


def _mask(queries: int, shared: int, device: torch.device) -> torch.Tensor:
    """Query ``i`` sees the ``shared`` keys in front and the keys after them up to ``i``."""
    rows = torch.arange(queries, device=device)[:, None]
    cols = torch.arange(shared + queries, device=device)[None, :]
    return ((cols < shared) | (cols - shared <= rows))[None, None]


@dataclass
class _Kernel:
    """Causal (``mask`` None) or masked attention with ``groups`` query heads per KV head:
    torch's fused SDPA, or ``eager`` matmuls with an fp32 softmax (and Gemma 2's ``softcap``)."""

    scale: float | None
    dropout: float
    groups: int
    eager: bool
    softcap: float | None = None

    def __call__(self, q, k, v, mask) -> torch.Tensor:
        if not self.eager:
            return nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=self.dropout, is_causal=mask is None,
                scale=self.scale, enable_gqa=self.groups > 1,
            )  # fmt: skip
        k, v = (t.repeat_interleave(self.groups, dim=1) for t in (k, v))
        scores = torch.matmul(q, k.transpose(2, 3)) * (self.scale or q.shape[-1] ** -0.5)
        if self.softcap:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        if mask is None:
            mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        weights = nn.functional.dropout(weights, p=self.dropout, training=self.dropout > 0)
        return torch.matmul(weights, v)


def packed_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    packed_layout: SegmentLayout | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention function (``config._attn_implementation = "peftctl_packed"``)."""
    if packed_layout is None:
        raise RuntimeError("peftctl's packed attention was called without a packed_layout")
    _check_supported(module, query, key, packed_layout, kwargs)
    out = packed_layout.attend(
        query, key, value, scale=scaling, dropout=dropout, softcap=kwargs.get("softcap")
    )
    return out, None


def _check_supported(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    layout: SegmentLayout,
    kwargs: dict[str, Any],
) -> None:
    """Raise :class:`PackingUnsupported`, saying why, for what the kernel cannot reproduce.

    A sliding window at least as long as any example's context is no window at all (Mistral's
    4096 on short examples); a shorter one, attention sinks and a non-causal module are
    refused, and so is a softcap outside the eager kernel."""
    window = kwargs.get("sliding_window")
    context = key.shape[2] - query.shape[2] + layout.prefix + layout.index.shape[1]
    if window and window < context:
        raise PackingUnsupported(
            f"the model's sliding_window={window} is shorter than an example's context "
            f"({context} tokens)"
        )
    if kwargs.get("softcap") and not layout.eager:
        raise PackingUnsupported("an attention softcap needs the eager attention")
    if kwargs.get("s_aux") is not None:
        raise PackingUnsupported("the packed attention has no attention sinks (s_aux)")
    if not getattr(module, "is_causal", True):
        raise PackingUnsupported(f"{type(module).__name__} is not causal attention")
    if query.shape[0] != 1:
        raise PackingUnsupported(f"a packed batch is one row, not {query.shape[0]}")


def _register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION, packed_attention_forward)


_register()


@dataclass
class PackedBatch:
    """One packed micro-batch: keyword arguments of the loss module plus what the loop counts."""

    input_ids: torch.Tensor  # [1, T]
    position_ids: torch.Tensor  # [1, T]
    targets: torch.Tensor  # [1, T]: the token each position predicts (-100: none)
    layout: SegmentLayout
    tokens: int  # tokens of the examples as given (what throughput counts)

    def inputs(self, device: torch.device | str) -> dict[str, Any]:
        return {
            "input_ids": self.input_ids.to(device),
            "position_ids": self.position_ids.to(device),
            "targets": self.targets.to(device),
            "packed_layout": self.layout.to(device),
        }


def pack(
    data: TokenData,
    indices: Sequence[int],
    pad_id: int,
    *,
    share_prefix: bool = True,
    multiple: int = 1,
    eager: bool = False,
) -> PackedBatch:
    """Pack the chosen examples into one row (see the module docstring).

    ``multiple`` pads the row and the per-example attention width up to a multiple (fewer
    distinct shapes for oneDNN's bf16 kernels); ``eager`` selects the matmul attention.
    """
    examples = [_until_last_target(data.input_ids[i], data.labels[i]) for i in indices]
    examples = [ex for ex in examples if ex[0]] or [_whole(data, indices[0])]
    p = _shared_prefix(examples) if share_prefix and len(examples) > 1 else 0
    ids, positions, targets = list(examples[0][0][:p]), list(range(p)), [IGNORE_INDEX] * p
    lengths = []
    for x, y in examples:
        ids += x[p:]
        positions += range(p, len(x))
        targets += y[p:]
        lengths.append(len(x) - p)
    tail = -len(ids) % multiple
    if tail:  # an extra segment nobody attends to and no loss is taken on
        ids += [pad_id] * tail
        positions += range(tail)
        targets += [IGNORE_INDEX] * tail
        lengths.append(tail)
    return PackedBatch(
        input_ids=torch.tensor([ids], dtype=torch.long),
        position_ids=torch.tensor([positions], dtype=torch.long),
        targets=torch.tensor([targets], dtype=torch.long),
        layout=_layout(p, lengths, multiple, eager),
        tokens=sum(len(data.input_ids[i]) for i in indices),
    )


def _until_last_target(ids: Sequence[int], labels: Sequence[int]) -> tuple[list, list]:
    """Inputs up to the last loss target, and the target each of them predicts."""
    last = max((t for t in range(1, len(labels)) if labels[t] != IGNORE_INDEX), default=0)
    return list(ids[:last]), list(labels[1 : last + 1])


def _whole(data: TokenData, i: int) -> tuple[list, list]:
    """An example without targets, kept so a micro-batch without any still runs the model."""
    return list(data.input_ids[i]), [IGNORE_INDEX] * len(data.input_ids[i])


def _shared_prefix(examples: list[tuple[list, list]]) -> int:
    """Length of the common token prefix on which no example takes a loss."""
    shortest = min(len(x) for x, _ in examples)
    first = examples[0][0]
    for t in range(shortest):
        if any(x[t] != first[t] or y[t] != IGNORE_INDEX for x, y in examples):
            return t
    return shortest


def _layout(prefix: int, lengths: list[int], multiple: int, eager: bool) -> SegmentLayout:
    width = -(-max(lengths) // multiple) * multiple
    offsets = torch.tensor([0, *lengths[:-1]]).cumsum(0) + prefix
    steps = torch.arange(width)
    valid = steps[None, :] < torch.tensor(lengths)[:, None]
    index = torch.where(valid, offsets[:, None] + steps[None, :], 0)
    return SegmentLayout(prefix, index, valid, eager)


# -- using it ------------------------------------------------------------------------------
def packing_obstacle(model: nn.Module, method: Any) -> str | None:
    """Why packing cannot apply, or None: the method must run packed rows (the plain decoder,
    or its own :meth:`~peftctl.methods.base.Method.packed_hidden_states`) and the model must use
    an attention the kernel reproduces."""
    if not method.packs:
        return "the method runs its own forward pass, which takes no packed rows"
    lm = causal_lm(model)
    if not getattr(lm, "_supports_attention_backend", False):
        kind = getattr(lm.config, "model_type", type(lm).__name__)
        return f"{kind}'s attention does not go through transformers' attention interface"
    implementation = lm.config._attn_implementation
    if implementation not in PACKABLE:
        return f"the model's attention is '{implementation}', not one of {', '.join(PACKABLE)}"
    return None


def is_eager(model: nn.Module) -> bool:
    return causal_lm(model).config._attn_implementation == "eager"


@contextlib.contextmanager
def packed_attention(model: nn.Module) -> Iterator[None]:
    """Route the model's attention through :func:`packed_attention_forward` meanwhile."""
    config = causal_lm(model).config
    original = config._attn_implementation
    config._attn_implementation = ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = original


def has_dropout(model: nn.Module) -> bool:
    """True when any dropout is active in training (a shared prefix would share its noise)."""
    config = causal_lm(model).config
    if any(_is_dropout_rate(key, value) for key, value in config.to_dict().items()):
        return True  # OPT, say, calls functional dropout with config.dropout: no nn.Dropout
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules())


def _is_dropout_rate(key: str, value: object) -> bool:
    """A config field holding a dropout probability above 0 (``dropout``, ``attention_dropout``,
    GPT-2's ``resid_pdrop``), the classifier head's aside."""
    named = ("dropout" in key or key.endswith("_pdrop")) and "classifier" not in key
    return named and isinstance(value, float) and value > 0


def packing_mismatch(
    loss: Any, data: TokenData, pad_id: int, device: torch.device | str
) -> str | None:
    """Why ``loss`` (a :class:`~peftctl.training.loss.SparseLMLoss`) cannot use packed
    batches of ``data``, or None when it gets the same hidden states from a packed batch of a
    few examples as from the padded batch: the model and method honour the packed layout.
    Runs in eval mode, without gradients."""
    from peftctl.training.batching import collate

    labelled = (i for i in range(len(data)) if any(t != IGNORE_INDEX for t in data.labels[i][1:]))
    indices = [i for i, _ in zip(labelled, range(3), strict=False)]
    if not indices:
        return "no training example has a loss target"
    model, training = loss.model, loss.model.training
    model.eval()
    try:
        with torch.no_grad():
            padded = collate(data, indices, pad_id)
            expected, _ = loss.target_states(**{k: v.to(device) for k, v in padded.items()})
            batch = pack(data, indices, pad_id, eager=is_eager(model))
            with packed_attention(model):
                got, _ = loss.target_states(**batch.inputs(device))
    except PackingUnsupported as unsupported:
        return str(unsupported)
    finally:
        model.train(training)
    if got.shape != expected.shape:
        return f"packed hidden states have shape {tuple(got.shape)}, padded {tuple(expected.shape)}"
    # fp32 states out of bf16 matmuls (autocast) round like bf16 ones
    low = expected.dtype != torch.float32 or torch.is_autocast_enabled(expected.device.type)
    tolerance = 5e-2 if low else 1e-3
    error = (got.float() - expected.float()).norm() / expected.float().norm().clamp_min(1e-12)
    if float(error) > tolerance:
        return f"packed and padded hidden states differ (relative error {float(error):.2g})"
    return None
