"""``peftctl new-method NAME --peft-config LoHaConfig``: a method that wraps one of peft's tuners.

The generated options dataclass has the peft config's plain options (numbers, flags, strings:
their defaults and help text, read from peft's dataclass) plus ``target_modules``; the method
is a :class:`~peftctl.api.PeftMethod` whose ``peft_config()`` passes them on. The trainable
estimate is measured here, on probe layers of several shapes, as a formula per adapted linear;
whether the adapter merges is measured too. Imports torch and peft (only this command does).
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from dataclasses import dataclass
from typing import Any

from peftctl.errors import PeftctlError, did_you_mean

#: peft's fields every tuner has, and options a recipe does not set through this method
SKIPPED = {"target_modules", "task_type", "peft_type", "inference_mode", "name"}
PLAIN = {"int": int, "float": float, "bool": bool, "str": str}
#: (in_features, out_features) of the probe layers the estimate is measured on
PROBE_SHAPES = ((16, 32), (32, 16), (48, 48), (64, 32), (32, 80), (24, 56))
DEFAULT_TARGETS = ["q_proj", "v_proj"]


@dataclass(frozen=True)
class Option:
    """One option of the generated config: a field of the peft config with a plain type."""

    name: str
    type: str
    default: Any
    help: str


@dataclass(frozen=True)
class PeftTuner:
    """What the generated package needs to know about a peft config class."""

    class_name: str
    options: list[Option]
    #: trainable parameters per adapted linear: c0 + c1*in + c2*out + c3*in*out; None when
    #: that form does not hold
    per_linear: tuple[int, int, int, int] | None
    mergeable: bool
    peft_version: str


def inspect_tuner(class_name: str) -> PeftTuner:
    """Read peft's ``class_name`` (e.g. ``LoHaConfig``) and measure what the scaffold needs."""
    import peft

    cls = getattr(peft, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, peft.PeftConfig)):
        known = [n for n in dir(peft) if n.endswith("Config") and n != "PeftConfig"]
        raise PeftctlError(
            f"--peft-config {class_name} is not a config class of peft "
            f"{peft.__version__}{did_you_mean(class_name, known)}; e.g. LoHaConfig, HRAConfig"
        )
    options = plain_options(cls)
    defaults = {o.name: o.default for o in options}
    return PeftTuner(
        class_name=class_name,
        options=options,
        per_linear=per_linear_formula(cls, defaults),
        mergeable=merges(cls, defaults),
        peft_version=peft.__version__,
    )


def plain_options(cls: type) -> list[Option]:
    """The fields of peft config ``cls`` a recipe can set: numbers, flags and strings."""
    inherited = {f.name for f in dataclasses.fields(_base_config())}
    options = []
    for spec in dataclasses.fields(cls):
        kind = PLAIN.get(str(spec.type)) or PLAIN.get(getattr(spec.type, "__name__", ""))
        if spec.name in SKIPPED | inherited or kind is None:
            continue
        if not isinstance(spec.default, kind):  # no default, or a factory
            continue
        options.append(Option(spec.name, kind.__name__, spec.default, _help(spec)))
    return options


def _base_config() -> type:
    import peft

    return peft.PeftConfig


def _help(spec: dataclasses.Field) -> str:
    """The first sentence of peft's help text, on one line."""
    text = " ".join(str(spec.metadata.get("help", "")).split())
    first = text.split(". ")[0].rstrip(".")
    return f"{first} (peft's {spec.name})." if first else f"peft's {spec.name}."


def _probe_model(shape: tuple[int, int]) -> Any:
    from torch import nn

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj = nn.Linear(*shape, bias=False)

        def forward(self, x: Any) -> Any:
            return self.q_proj(x)

    return Probe()


def _adapted(cls: type, options: dict[str, Any], shape: tuple[int, int]) -> Any:
    import peft

    config = cls(target_modules=["q_proj"], **options)
    return peft.get_peft_model(_probe_model(shape), config)


def per_linear_formula(cls: type, options: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """``(c0, c1, c2, c3)`` with trainable = c0 + c1*in + c2*out + c3*in*out on every probe
    shape, or None when no such integer formula fits them all."""
    import numpy as np

    counts = []
    for shape in PROBE_SHAPES:
        model = _adapted(cls, options, shape)
        counts.append(sum(p.numel() for p in model.parameters() if p.requires_grad))
    rows = np.array([[1, i, o, i * o] for i, o in PROBE_SHAPES], dtype=float)
    solution = np.linalg.lstsq(rows, np.array(counts, dtype=float), rcond=None)[0]
    coefficients = tuple(round(c) for c in solution)
    fits = all(
        _per_linear(coefficients, i, o) == n for (i, o), n in zip(PROBE_SHAPES, counts, strict=True)
    )
    return coefficients if fits else None  # type: ignore[return-value]


def _per_linear(c: tuple[int, ...], i: int, o: int) -> int:
    return c[0] + c[1] * i + c[2] * o + c[3] * i * o


def merges(cls: type, options: dict[str, Any]) -> bool:
    """Whether peft can fold this adapter into the base weights."""
    try:
        _adapted(cls, options, PROBE_SHAPES[0]).merge_and_unload()
    except Exception:
        return False
    return True


# -- the generated files (template text: ``render`` puts the method's name in) --------------
def overrides(tuner: PeftTuner) -> dict[str, str]:
    """Template files (relative paths) whose text the peft-backed package replaces."""
    return {
        "src/peftctl_mymethod/config.py": config_module(tuner),
        "src/peftctl_mymethod/method.py": method_module(tuner),
        "tests/test_contract.py": test_module(),
    }


def edits(tuner: PeftTuner) -> dict[str, list[tuple[str, str]]]:
    """Template files changed in place: ``[(old, new), ...]`` per relative path."""
    return {"src/peftctl_mymethod/plugin.py": plugin_edits(tuner), "README.md": readme_edits(tuner)}


def config_module(tuner: PeftTuner) -> str:
    """``config.py``: the options dataclass and its trainable estimate."""
    fields = "".join(_field(option) for option in tuner.options)
    measured = "".join(f"\n    {json.dumps(o.name)}: {o.default!r}," for o in tuner.options)
    if tuner.per_linear is None:
        estimate = (
            "        return None  # peft's count is no c0 + c1*in + c2*out + c3*in*out: derive it"
        )
    else:
        estimate = textwrap.indent(
            textwrap.dedent(f"""\
                if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
                    return None  # other options: replace this with the closed form
                shapes = arch.targets(self.target_modules)  # every adapted linear: (in, out)
                if shapes is None:
                    return None
                return sum({formula(tuner.per_linear)} for i, o in shapes)"""),
            " " * 8,
        )
    return f'''"""MyMethod's options: the recipe's ``method.*`` keys, those of peft's
``{tuner.class_name}`` (peft {tuner.peft_version}) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, MethodConfig, PeftctlError

#: The options ``trainable_estimate``'s formula was measured with (by ``peftctl new-method``).
MEASURED_WITH = {{{measured}\n}}
#: The options passed to peft's ``{tuner.class_name}`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class MyMethodConfig(MethodConfig):
    """peft's ``{tuner.class_name}`` on the target linear layers."""

    name: str = field(default="mymethod", metadata={{"help": "Method name."}})
    target_modules: list[str] = field(
        default_factory=lambda: {json.dumps(DEFAULT_TARGETS)},
        metadata={{
            "help": "Linear layers to adapt, as peft's target_modules: name suffixes, a "
            "regular expression, or ['all-linear']."
        }},
    ){fields}

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        if not self.target_modules:
            raise PeftctlError("method.target_modules is empty; name at least one linear layer")

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Trainable parameters on a model of shape ``arch`` (`peftctl list-methods`); exact
        for the options in MEASURED_WITH, None for others."""
{estimate}
'''


def formula(c: tuple[int, int, int, int]) -> str:
    """``c0 + c1*in + c2*out + c3*in*out`` as Python over ``i`` and ``o``, zero terms left out."""
    terms = [(c[0], ""), (c[1], " * i"), (c[2], " * o"), (c[3], " * i * o")]
    return " + ".join(f"{k}{t}" for k, t in terms if k) or "0"


def _field(option: Option) -> str:
    """One dataclass field, laid out as ``ruff format`` would, help text wrapped at 100."""
    head, default = f"    {option.name}: {option.type} = field(", f"default={option.default!r}"
    one_line = f'{head}{default}, metadata={{"help": {_quote(option.help)}}})'
    if len(one_line) <= 100:
        return "\n" + one_line
    metadata = f'        metadata={{"help": {_quote(option.help)}}},'
    if len(metadata) > 100:
        parts = [_quote(part) for part in textwrap.wrap(option.help, 72, drop_whitespace=False)]
        lines = "\n            ".join(parts)
        metadata = f'        metadata={{\n            "help": {lines}\n        }},'
    return f"\n{head}\n        {default},\n{metadata}\n    )"


def _quote(text: str) -> str:
    """A Python string literal, double-quoted unless that needs more escapes."""
    return repr(text) if text.count('"') > text.count("'") else json.dumps(text)


def method_module(tuner: PeftTuner) -> str:
    """``method.py``: a PeftMethod whose ``peft_config()`` passes the options on."""
    return f'''"""MyMethod: peft's ``{tuner.class_name}`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import PeftMethod, peft_targets

from .config import PEFT_OPTIONS, MyMethodConfig


class MyMethodMethod(PeftMethod):
    """peft's ``{tuner.class_name}`` on the target linear layers."""

    config: MyMethodConfig

    def peft_config(self) -> peft.{tuner.class_name}:
        cfg = self.config
        return peft.{tuner.class_name}(
            task_type="CAUSAL_LM",  # peft wraps the model as a causal LM (generate, save)
            target_modules=peft_targets(cfg.target_modules),
            **{{name: getattr(cfg, name) for name in PEFT_OPTIONS}},
        )
'''


def test_module() -> str:
    """``tests/test_contract.py``: the contract kit and the recipe, nothing else."""
    return '''"""MyMethod passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestMyMethod(MethodContract):
    method_name = "mymethod"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("mymethod_sst2")
    assert recipe.command == "peftctl train mymethod_sst2"
    assert recipe.config.method.name == "mymethod" and recipe.config.eval.after_train
'''


def plugin_edits(tuner: PeftTuner) -> list[tuple[str, str]]:
    """Changes to the template's ``plugin.py``: summary, category and mergeability."""
    return [
        (
            'summary="Trained per-channel scales on the outputs of linear layers"',
            f'summary="peft\'s {tuner.class_name} on linear layers"',
        ),
        ('category="additive",', 'category="reparameterised",  # or additive, selective, ...'),
        ("mergeable=True,", f"mergeable={tuner.mergeable},"),
    ]


def readme_edits(tuner: PeftTuner) -> list[tuple[str, str]]:
    """Changes to the template's README: what the method is."""
    old = (
        "one trained scale per output\nchannel of the target linear layers (`q_proj`, `v_proj` "
        "by default). The scales start at 1,\nso training starts from the base model, and "
        "`peftctl merge` folds them into the weights."
    )
    new = (
        f"peft's `{tuner.class_name}` on the target\nlinear layers (`q_proj`, `v_proj` by "
        f"default); its options are the recipe's `method.*` keys."
    )
    return [(old, new), ("replace the method with yours", "adjust the options to yours")]
