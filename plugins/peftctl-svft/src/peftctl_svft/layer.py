"""The SVFT linear layer and the sparsity patterns of its M.

A target ``nn.Linear`` (weight ``W``, out x in) becomes :class:`SvftLinear`: the frozen layer
plus ``U M Vᵀ x`` with U (out x r) and V (in x r) the top singular vectors of W and M an r x r
matrix stored as its trained values over fixed ``(rows, cols)`` indices. The forward pass never
builds the dense update: it projects ``x`` onto V, applies the sparse M (an elementwise product
for the diagonal, a row gather and an ``index_add`` over rows otherwise) and maps back with U.
"""

from __future__ import annotations

import zlib

import torch
from torch import nn

Index = tuple[torch.Tensor, torch.Tensor]


class SvftLinear(nn.Module):
    """``base(x) + U M Vᵀ x``; only ``m`` (the values of M on its pattern) trains."""

    def __init__(self, base: nn.Linear, u: torch.Tensor, v: torch.Tensor, index: Index) -> None:
        super().__init__()
        self.base = base
        rows, cols = (i.to(device=u.device, dtype=torch.long) for i in index)
        # not in the module's state_dict: U, V are recomputed (or saved) and M's pattern is
        # saved by the method, so a merged model's state_dict stays that of the base model
        self.register_buffer("u", u, persistent=False)
        self.register_buffer("v", v, persistent=False)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.m = nn.Parameter(torch.zeros(rows.numel(), dtype=u.dtype, device=u.device))
        rank = u.shape[1]
        arange = torch.arange(rank, device=rows.device)
        self.diagonal = rows.numel() == rank and bool(
            (rows == arange).all() & (cols == arange).all()
        )

    @property
    def rank(self) -> int:
        return self.u.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        x = x.to(self.v.dtype)
        m = self.m.to(x.dtype)
        if self.diagonal:  # (x V) * diag(M), then back with Uᵀ
            return out + ((x @ self.v) * m @ self.u.T).to(out.dtype)
        # tokens as columns, so the pattern's gather and scatter move whole rows:
        # y[i, :] = sum over pattern entries (i, j) of M[i, j] * z[j, :], z = Vᵀ xᵀ (r x tokens)
        z = self.v.T @ x.reshape(-1, x.shape[-1]).T
        y = torch.zeros_like(z).index_add(0, self.rows, z[self.cols] * m[:, None])
        return out + (self.u @ y).T.reshape(out.shape).to(out.dtype)

    def dense_m(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """M as an r x r matrix (for merging and inspection, never in the forward pass)."""
        dense = torch.zeros(self.rank, self.rank, dtype=dtype, device=self.m.device)
        return dense.index_put((self.rows, self.cols), self.m.detach().to(dtype), accumulate=True)

    def delta_weight(self) -> torch.Tensor:
        """``U M Vᵀ`` (out x in), computed in float64."""
        return self.u.double() @ self.dense_m() @ self.v.double().T


def banded(rank: int, off_diag: int) -> Index:
    """Row and column indices of the main diagonal and ``off_diag`` bands on each side."""
    rows, cols = [], []
    for offset in range(-min(off_diag, rank - 1), min(off_diag, rank - 1) + 1):
        i = torch.arange(max(0, -offset), min(rank, rank - offset))
        rows.append(i)
        cols.append(i + offset)
    return torch.cat(rows), torch.cat(cols)


def random_pattern(rank: int, off_diag: int, seed: int, layer: str) -> Index:
    """``2 * off_diag + 1`` distinct random columns per row, from ``seed`` and the layer name."""
    per_row = min(2 * off_diag + 1, rank)
    generator = torch.Generator().manual_seed(zlib.crc32(f"{seed}:{layer}".encode()))
    cols = torch.rand(rank, rank, generator=generator).topk(per_row, dim=1).indices
    rows = torch.arange(rank).repeat_interleave(per_row)
    return rows, cols.sort(dim=1).values.flatten()


def top_k(u: torch.Tensor, v: torch.Tensor, s: torch.Tensor, off_diag: int) -> Index:
    """As many entries as :func:`banded`, those with the largest ``|u_i . v_j|`` (Lingam et
    al.). A rectangular weight's u_i and v_j live in different spaces: there the score is
    ``s_i * s_j``, the entries coupling the strongest singular directions."""
    rank = s.numel()
    k = banded(rank, off_diag)[0].numel()
    square = u.shape[0] == v.shape[0]
    scores = (u.double().T @ v.double()).abs() if square else torch.outer(s, s)
    flat = scores.flatten().topk(k).indices.cpu()
    return flat // rank, flat % rank


def pattern(
    kind: str,
    u: torch.Tensor,
    v: torch.Tensor,
    s: torch.Tensor,
    *,
    off_diag: int,
    seed: int,
    layer: str,
) -> Index:
    """The ``(rows, cols)`` of M's trained entries for pattern ``kind``."""
    rank = s.numel()
    if kind == "plain":
        return torch.arange(rank), torch.arange(rank)
    if kind == "banded":
        return banded(rank, off_diag)
    if kind == "random":
        return random_pattern(rank, off_diag, seed, layer)
    if kind == "top_k":
        return top_k(u, v, s, off_diag)
    raise ValueError(f"unknown SVFT pattern {kind!r}")
