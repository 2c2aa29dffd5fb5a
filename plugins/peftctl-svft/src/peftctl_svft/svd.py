"""Deterministic singular vectors of the base weights, computed in float64.

A CPU LAPACK SVD of a weight this size runs several times slower multi-threaded than on one
thread when the cores are shared (measured 4-7x for 576-2048 wide float64 matrices on a
2-core EPYC under load), so on CPU the weights are decomposed concurrently, one weight per
worker thread and one LAPACK thread each; the global thread count is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

Triplet = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def singular_vectors(weight: torch.Tensor, rank: int) -> Triplet:
    """``(U, V, S)``: the top ``rank`` (0 = all) singular triplets of ``weight`` from a float64
    SVD, signs made canonical (each column of U has its largest-magnitude entry positive) so
    a recomputation gives the same vectors. U, V come back in ``weight``'s dtype."""
    w = weight.detach().to(torch.float64)
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    r = s.numel() if rank <= 0 else min(rank, s.numel())
    u, s, v = u[:, :r], s[:r], vh[:r].T
    pivot = u.abs().argmax(dim=0)
    signs = torch.sign(u[pivot, torch.arange(r, device=u.device)])
    signs[signs == 0] = 1
    return (u * signs).to(weight.dtype), (v * signs).to(weight.dtype), s


def decompose(weights: Mapping[str, torch.Tensor], rank: int) -> dict[str, Triplet]:
    """:func:`singular_vectors` of every weight by name (CPU ones concurrently)."""
    names = list(weights)
    if not names or weights[names[0]].is_cuda:
        return {name: singular_vectors(weights[name], rank) for name in names}
    workers = torch.get_num_threads()
    with single_threaded(), ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda name: singular_vectors(weights[name], rank), names)
        return dict(zip(names, results, strict=True))


@contextmanager
def single_threaded() -> Iterator[None]:
    """torch (and MKL) on one intra-op thread inside the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
