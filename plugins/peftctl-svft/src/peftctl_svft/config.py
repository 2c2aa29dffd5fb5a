"""SVFT's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

PATTERNS = ("plain", "banded", "random", "top_k")
DECODER_LINEARS = ("role:attention", "role:mlp")  # every decoder linear, on every family


@dataclass(kw_only=True)
class SvftConfig(TargetModulesConfig):
    """``W + U M Vᵀ`` on each target linear: U, V are the top ``rank`` singular vectors of the
    frozen W, M is an r x r matrix whose entries on a sparse ``pattern`` train (zero at start)."""

    name: str = field(default="svft", metadata={"help": "Method name."})
    pattern: str = field(
        default="plain",
        metadata={
            "help": "Which entries of M train: plain (the diagonal), banded (the diagonal and "
            "off_diag bands on each side), random (2*off_diag+1 random entries per row, from "
            "seed), top_k (as many as banded: the largest singular-vector alignments |u_i.v_j|).",
            "choices": PATTERNS,
        },
    )
    off_diag: int = field(
        default=2,
        metadata={
            "help": "d: the band half-width of banded, and the budget of random and top_k "
            "(their M has as many entries as the band); plain ignores it.",
            "min": 0,
        },
    )
    rank: int = field(
        default=0,
        metadata={
            "help": "Singular vectors kept per weight (the largest r); 0 = all, min(out, in), "
            "as in the paper. Smaller is faster and lighter: U, V cost (out + in) * r floats.",
            "min": 0,
        },
    )
    target_modules: list[str] = field(
        default_factory=lambda: list(DECODER_LINEARS),
        metadata={
            "help": "The nn.Linear layers to adapt, as peft's target_modules (name suffixes, "
            "or ['all-linear']; default: every decoder linear, as in the paper's Llama/Gemma "
            "runs; the LM head is never a target)."
        },
    )
    seed: int = field(
        default=0,
        metadata={
            "help": "Seed of the random pattern (combined with each layer's name).",
            "min": 0,
        },
    )
    store_singular_vectors: bool = field(
        default=False,
        metadata={
            "help": "Also save the truncated U and V in the adapter (2-D, about as large as the "
            "adapted weights) so loading needs no SVD; by default they are recomputed from the "
            "base weights (float64 SVD, canonical signs), which must then be the same weights."
        },
    )

    def validate(self) -> None:
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        ranks = [min(i, o) if self.rank == 0 else min(self.rank, i, o) for i, o in shapes]
        return sum(self.entries(r) for r in ranks)

    def entries(self, rank: int) -> int:
        """Trained entries of M for a weight of rank ``rank`` under these options."""
        if self.pattern == "plain":
            return rank
        if self.pattern == "random":
            return rank * min(2 * self.off_diag + 1, rank)
        return band_size(rank, self.off_diag)  # banded, and top_k's budget


def band_size(rank: int, off_diag: int) -> int:
    """Entries of an r x r matrix within ``off_diag`` of the diagonal."""
    d = min(off_diag, rank - 1)
    return rank * (2 * d + 1) - d * (d + 1)
