"""Psoft's options: the recipe's ``method.*`` keys, those of peft's
``PsoftConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 32,
    "psoft_alpha": 32,
    "psoft_dropout": 0.0,
    "fan_in_fan_out": False,
    "psoft_svd_lowrank_niter": 10,
    "random_seed": 0,
    "psoft_orth": True,
    "psoft_mag_b": True,
    "psoft_mag_a": True,
    "use_cayley_neumann": False,
    "num_cayley_neumann_terms": 5,
    "init_weights": True,
}
#: The options passed to peft's ``PsoftConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 32): 560,
    (32, 64): 560,
    (64, 32): 560,
    (576, 192): 560,
    (576, 576): 560,
    (576, 1536): 560,
    (1536, 576): 560,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "r": 8,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 44,
    (32, 32): 44,
    (32, 64): 44,
    (64, 32): 44,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class PsoftConfig(TargetModulesConfig):
    """peft's ``PsoftConfig``: principal-subspace orthogonal fine-tuning."""

    name: str = field(default="psoft", metadata={"help": "Method name."})
    r: int = field(
        default=32,
        metadata={
            "help": "PSOFT rank (r) controls the adapter capacity through an r*r "
            "transformation R (peft's r)."
        },
    )
    psoft_alpha: int = field(
        default=32,
        metadata={"help": "It controls PSOFT scaling factor (peft's psoft_alpha)."},
    )
    psoft_dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout for PSOFT path (peft's psoft_dropout)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    psoft_svd_lowrank_niter: int = field(
        default=10,
        metadata={
            "help": "Number of power iterations used by torch.svd_lowrank when "
            "psoft_svd='lowrank' (peft's psoft_svd_lowrank_niter)."
        },
    )
    random_seed: int = field(
        default=0,
        metadata={
            "help": "Seed used to deterministically create and rebuild the adapter weights "
            "when psoft_svd='lowrank', so that a saved adapter reproduces its outputs"
            " after loading (peft's random_seed)."
        },
    )
    psoft_orth: bool = field(
        default=True,
        metadata={
            "help": "If True, constrains R to be orthogonal via Cayley parameterization, "
            "preserving the geometric relationships among column of the pre-trained "
            "weight vectors (peft's psoft_orth)."
        },
    )
    psoft_mag_b: bool = field(
        default=True,
        metadata={
            "help": "If True, learns a diagonal scaling vector on the 'output' side of R "
            "(peft's psoft_mag_b)."
        },
    )
    psoft_mag_a: bool = field(
        default=True,
        metadata={
            "help": "If True, learns a diagonal scaling vector on the 'input' side of R "
            "(peft's psoft_mag_a)."
        },
    )
    use_cayley_neumann: bool = field(
        default=False,
        metadata={
            "help": "Whether to use the Cayley-Neumann Formulation of PSOFT or not (peft's "
            "use_cayley_neumann)."
        },
    )
    num_cayley_neumann_terms: int = field(
        default=5,
        metadata={
            "help": "Number of Cayley-Neumann terms to use (peft's num_cayley_neumann_terms)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the PSOFT layers with their default"
            " initialization (peft's init_weights)."
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
