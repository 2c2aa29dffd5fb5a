"""Adamss's options: the recipe's ``method.*`` keys, those of peft's
``AdamssConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 100,
    "num_subspaces": 5,
    "subspace_rank": 1,
    "use_asa": False,
    "asa_target_subspaces": 50,
    "init_warmup": 50,
    "final_warmup": 1000,
    "mask_interval": 100,
    "asa_importance_beta": 0.85,
    "asa_uncertainty_beta": 0.85,
    "asa_schedule_exponent": 3.0,
    "use_dynamic_rank": False,
    "svd_threshold": 0.1,
    "random_seed": 0,
}
#: The options passed to peft's ``AdamssConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 96,
    (32, 32): 192,
    (32, 64): 224,
    (64, 32): 192,
    (576, 192): 692,
    (576, 576): 1076,
    (576, 1536): 2036,
    (1536, 576): 1076,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "r": 8,
    "num_subspaces": 2,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 32,
    (32, 32): 48,
    (32, 64): 80,
    (64, 32): 48,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class AdamssConfig(TargetModulesConfig):
    """peft's ``AdamssConfig``: adaptive multi-subspace updates from the weight's SVD."""

    name: str = field(default="adamss", metadata={"help": "Method name."})
    r: int = field(
        default=100,
        metadata={"help": "Total rank for SVD decomposition (R in the paper) (peft's r)."},
    )
    num_subspaces: int = field(
        default=5,
        metadata={
            "help": "Number of subspaces (K) to cluster the SVD space into (peft's num_subspaces)."
        },
    )
    subspace_rank: int = field(
        default=1,
        metadata={"help": "Rank (r_i) for each trainable subspace (peft's subspace_rank)."},
    )
    use_asa: bool = field(
        default=False,
        metadata={"help": "Whether to enable Adaptive Subspace Allocation (ASA) (peft's use_asa)."},
    )
    asa_target_subspaces: int = field(
        default=50,
        metadata={
            "help": "Target total number of active subspaces across all layers when ASA is "
            "enabled (peft's asa_target_subspaces)."
        },
    )
    init_warmup: int = field(
        default=50,
        metadata={
            "help": "Training steps to wait before starting ASA pruning (peft's init_warmup)."
        },
    )
    final_warmup: int = field(
        default=1000,
        metadata={
            "help": "Training step at which ASA completes pruning and reaches "
            "asa_target_subspaces (peft's final_warmup)."
        },
    )
    mask_interval: int = field(
        default=100,
        metadata={"help": "Training steps between ASA mask updates (peft's mask_interval)."},
    )
    asa_importance_beta: float = field(
        default=0.85,
        metadata={
            "help": "EMA coefficient for smoothing subspace importance scores during ASA "
            "(peft's asa_importance_beta)."
        },
    )
    asa_uncertainty_beta: float = field(
        default=0.85,
        metadata={
            "help": "EMA coefficient for smoothing importance uncertainty estimates during "
            "ASA (peft's asa_uncertainty_beta)."
        },
    )
    asa_schedule_exponent: float = field(
        default=3.0,
        metadata={
            "help": "Schedule exponent controlling the decay rate from total subspaces to "
            "asa_target_subspaces (peft's asa_schedule_exponent)."
        },
    )
    use_dynamic_rank: bool = field(
        default=False,
        metadata={
            "help": "Whether to dynamically determine subspace ranks based on singular value "
            "magnitudes (peft's use_dynamic_rank)."
        },
    )
    svd_threshold: float = field(
        default=0.1,
        metadata={
            "help": "Threshold ratio for dynamic rank selection (only used when "
            "use_dynamic_rank=True) (peft's svd_threshold)."
        },
    )
    random_seed: int = field(
        default=0,
        metadata={
            "help": "Seed used to deterministically create and rebuild the adapter weights, "
            "so that a saved adapter reproduces its outputs after loading (peft's "
            "random_seed)."
        },
    )

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Trainable parameters on a model of shape ``arch`` (`peftctl list-methods`); exact
        for the options in MEASURED_WITH, None for others."""
        shapes = arch.targets(self.target_modules)  # every adapted linear: (in, out)
        if shapes is None:
            return None
        if all(getattr(self, k) == v for k, v in {**MEASURED_WITH, **TEST_OPTIONS}.items()):
            if any(shape not in TEST_PER_LINEAR for shape in shapes):
                return None
            return TEST_SHARED + sum(TEST_PER_LINEAR[shape] for shape in shapes)
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)
