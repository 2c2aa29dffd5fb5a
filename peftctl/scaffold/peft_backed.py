"""``peftctl new-method NAME --peft-config LoHaConfig``: a method that wraps one of peft's tuners.

The generated options dataclass has the peft config's plain options (numbers, flags, strings:
their defaults and help text, read from peft's dataclass) plus ``target_modules``; the method
is a :class:`~peftctl.api.PeftMethod` whose ``peft_config()`` passes them on. The trainable
estimate is measured here, on probe layers: a formula per adapted linear where one fits every
probe shape, else a count per linear shape of the default model (and of the contract kit's
tiny model) plus what the adapted layers share. Whether the adapter merges is measured too;
summary, paper, category and starting lr come from :mod:`peftctl.facts.peft_tuners`, and so
do the options where peft's defaults do not fit a causal LM (a vector bank's length, a number
of frequencies) and, for tuners whose defaults do not fit the contract kit's tiny model, the
test's options (their count is measured too, so the kit checks the estimate). Imports torch
and peft (only this command does).
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from dataclasses import dataclass
from typing import Any

from peftctl.errors import PeftctlError, did_you_mean
from peftctl.facts.peft_tuners import TunerFacts, tuner_facts

#: peft's fields every tuner has, and options a recipe does not set through this method
SKIPPED = {"target_modules", "task_type", "peft_type", "inference_mode", "name"}
PLAIN = {"int": int, "float": float, "bool": bool, "str": str}
#: (in_features, out_features) of the probe layers the estimate is measured on
PROBE_SHAPES = ((16, 32), (32, 16), (48, 48), (64, 32), (32, 80), (24, 56))


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
    #: else: (in, out) -> trainable parameters of one adapted linear, and those all share
    per_shape: dict[tuple[int, int], int] | None
    shared: int
    #: the contract test's options beyond ``options`` (facts' ``test_options``), and the
    #: per-shape count and shared count with them on the tiny model's shapes
    test_options: dict[str, Any]
    test_per_shape: dict[tuple[int, int], int] | None
    test_shared: int
    mergeable: bool
    peft_version: str
    facts: TunerFacts


def inspect_tuner(class_name: str) -> PeftTuner:
    """Read peft's ``class_name`` (e.g. ``LoHaConfig``) and measure what the scaffold needs."""
    import peft

    cls = getattr(peft, class_name, None)
    variant = lora_variant_field(class_name)
    if variant is not None:
        raise PeftctlError(
            f"--peft-config {class_name} configures a LoRA variant (peft's "
            f"LoraConfig({variant}=...)), not a tuner of its own: LoRA variants are methods of "
            "peftctl-lora (as dora and pissa are); scaffold a layer tuner (e.g. LoHaConfig)"
        )
    if not (isinstance(cls, type) and issubclass(cls, peft.PeftConfig)):
        known = [n for n in dir(peft) if n.endswith("Config") and n != "PeftConfig"]
        raise PeftctlError(
            f"--peft-config {class_name} is not a config class of peft "
            f"{peft.__version__}{did_you_mean(class_name, known)}; e.g. LoHaConfig, HRAConfig"
        )
    if issubclass(cls, peft.PromptLearningConfig):
        raise PeftctlError(
            f"--peft-config {class_name} learns prompts, not layer updates: peftctl-prompt "
            "implements peft's prompt-learning methods; scaffold a layer tuner (e.g. LoHaConfig)"
        )
    facts = tuner_facts(class_name)
    options = plain_options(cls, dict(facts.options))
    defaults = {o.name: o.default for o in options}
    unknown = set(facts.test_options) - set(defaults)
    if unknown:  # a slip in the facts table
        raise RuntimeError(f"{class_name}: test_options {sorted(unknown)} are no options")
    formula = per_linear_formula(cls, defaults)
    per_shape, shared = (None, 0) if formula else per_shape_counts(cls, defaults)
    test_options = dict(facts.test_options)
    test_per_shape, test_shared = (
        per_shape_counts(cls, {**defaults, **test_options}, tiny_shapes())
        if test_options
        else (None, 0)
    )
    return PeftTuner(
        class_name=class_name,
        options=options,
        per_linear=formula,
        per_shape=per_shape,
        shared=shared,
        test_options=test_options,
        test_per_shape=test_per_shape,
        test_shared=test_shared,
        mergeable=merges(cls, defaults),
        peft_version=peft.__version__,
        facts=facts,
    )


def lora_variant_field(class_name: str) -> str | None:
    """The ``LoraConfig`` field that takes peft's ``class_name`` (KaSA, VeLoRA, MonteCLoRA,
    BD-LoRA: sub-configs of LoRA, not tuners), or None."""
    import peft

    for spec in dataclasses.fields(peft.LoraConfig):
        if class_name != "LoraConfig" and class_name in str(spec.type):
            return spec.name
    return None


def plain_options(cls: type, overrides: dict[str, Any] | None = None) -> list[Option]:
    """The fields of peft config ``cls`` a recipe can set: numbers, flags and strings, with
    peft's defaults or those of ``overrides`` (which may also set a field whose peft default is
    None, e.g. OSF's ``effective_rank``: its type is then the override's)."""
    overrides = dict(overrides or {})
    inherited = {f.name for f in dataclasses.fields(_base_config())}
    options = []
    for spec in dataclasses.fields(cls):
        if spec.name in overrides:
            value = overrides.pop(spec.name)
            options.append(Option(spec.name, type(value).__name__, value, _help(spec)))
            continue
        kind = PLAIN.get(str(spec.type)) or PLAIN.get(getattr(spec.type, "__name__", ""))
        if spec.name in SKIPPED | inherited or kind is None:
            continue
        if not isinstance(spec.default, kind):  # no default, or a factory
            continue
        options.append(Option(spec.name, kind.__name__, spec.default, _help(spec)))
    if overrides:  # a slip in the facts table
        raise RuntimeError(f"{cls.__name__} has no options {sorted(overrides)}")
    return options


def _base_config() -> type:
    import peft

    return peft.PeftConfig


def _help(spec: dataclasses.Field) -> str:
    """The first sentence of peft's help text, on one line."""
    text = " ".join(str(spec.metadata.get("help", "")).split())
    first = text.split(". ")[0].rstrip(".")
    return f"{first} (peft's {spec.name})." if first else f"peft's {spec.name}."


def _probe_model(shape: tuple[int, int], copies: int = 1) -> Any:
    """``copies`` blocks, each with one ``q_proj`` linear of ``shape``."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_proj = nn.Linear(*shape, bias=False)

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(Block() for _ in range(copies))

        def forward(self, x: Any) -> Any:
            for block in self.blocks:
                x = block.q_proj(x)
            return x

    return Probe()


def _adapted(cls: type, options: dict[str, Any], shape: tuple[int, int], copies: int = 1) -> Any:
    import peft

    config = cls(target_modules=["q_proj"], **options)
    return peft.get_peft_model(_probe_model(shape, copies), config)


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def per_linear_formula(cls: type, options: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """``(c0, c1, c2, c3)`` with trainable = c0 + c1*in + c2*out + c3*in*out on every probe
    shape, or None when no such integer formula fits them all or two adapted linears train
    other than twice what one does (they share parameters)."""
    import numpy as np

    try:
        counts = [_trainable(_adapted(cls, options, shape)) for shape in PROBE_SHAPES]
        twice = _trainable(_adapted(cls, options, PROBE_SHAPES[0], copies=2))
    except Exception:  # a tuner that needs shapes these probes lack: counted per shape
        return None
    if twice != 2 * counts[0]:  # adapted layers share parameters (Lily, VB-LoRA's bank)
        return None
    rows = np.array([[1, i, o, i * o] for i, o in PROBE_SHAPES], dtype=float)
    solution = np.linalg.lstsq(rows, np.array(counts, dtype=float), rcond=None)[0]
    coefficients = tuple(round(c) for c in solution)
    fits = all(
        _per_linear(coefficients, i, o) == n for (i, o), n in zip(PROBE_SHAPES, counts, strict=True)
    )
    return coefficients if fits else None  # type: ignore[return-value]


def estimate_shapes() -> list[tuple[int, int]]:
    """The linear shapes a per-shape count is measured on: the default model's and those of
    the contract kit's tiny model (so its exactness test runs)."""

    from peftctl.facts.arch import DEFAULT_ARCH

    shapes = [*DEFAULT_ARCH.linear_shapes().values(), *tiny_shapes()]
    return sorted(set(shapes))


def tiny_shapes() -> list[tuple[int, int]]:
    """The linear shapes of the contract kit's tiny model."""
    from types import SimpleNamespace

    from peftctl.facts.arch import TINY_LLAMA, Arch

    return sorted(set(Arch.from_hf_config(SimpleNamespace(**TINY_LLAMA)).linear_shapes().values()))


def per_shape_counts(
    cls: type, options: dict[str, Any], shapes: list[tuple[int, int]] | None = None
) -> tuple[dict[tuple[int, int], int] | None, int]:
    """``({(in, out): trainable per adapted linear}, shared)`` from probes with one and two
    adapted linears of each shape (``estimate_shapes()`` by default); a shape peft cannot
    adapt with these options is left out (the estimate is then None for it). ``(None, 0)``
    when what is shared differs between shapes (no per-linear count exists) or no shape
    adapts."""
    per_shape, shared = {}, set()
    for shape in shapes or estimate_shapes():
        try:
            one = _trainable(_adapted(cls, options, shape))
            two = _trainable(_adapted(cls, options, shape, copies=2))
        except Exception:  # e.g. a block size that does not divide this width
            continue
        per_shape[shape] = two - one
        shared.add(2 * one - two)
    return (per_shape, shared.pop()) if len(shared) == 1 else (None, 0)


def _per_linear(c: tuple[int, ...], i: int, o: int) -> int:
    return c[0] + c[1] * i + c[2] * o + c[3] * i * o


def merges(cls: type, options: dict[str, Any]) -> bool:
    """Whether peft can fold this adapter into the base weights: on the first probe or
    default-model shape it adapts with these options."""
    for shape in (PROBE_SHAPES[0], *estimate_shapes()):
        try:
            model = _adapted(cls, options, shape)
        except Exception:  # these options do not fit the shape: try the next
            continue
        try:
            model.merge_and_unload()
        except Exception:
            return False
        return True
    return False


# -- the generated files (template text: ``render`` puts the method's name in) --------------
def overrides(tuner: PeftTuner) -> dict[str, str]:
    """Template files (relative paths) whose text the peft-backed package replaces."""
    return {
        "src/peftctl_mymethod/config.py": config_module(tuner),
        "src/peftctl_mymethod/method.py": method_module(tuner),
        "tests/test_mymethod.py": test_module(tuner),
    }


def edits(tuner: PeftTuner) -> dict[str, list[tuple[str, str]]]:
    """Template files changed in place: ``[(old, new), ...]`` per relative path."""
    return {
        "src/peftctl_mymethod/plugin.py": plugin_edits(tuner),
        "README.md": readme_edits(tuner),
        "pyproject.toml": pyproject_edits(tuner),
        "recipes/mymethod_sst2.yaml": recipe_edits(tuner),
    }


def config_module(tuner: PeftTuner) -> str:
    """``config.py``: the options dataclass and its trainable estimate."""
    fields = "".join(_field(option) for option in tuner.options)
    measured = "".join(f"\n    {json.dumps(o.name)}: {_py(o.default)}," for o in tuner.options)
    measured += "\n" if measured else ""  # {} as ruff writes it when there is none
    estimate, table = _estimate_code(tuner)
    table += _test_table(tuner)
    targets = _targets_field(tuner)
    return f'''"""MyMethod's options: the recipe's ``method.*`` keys, those of peft's
``{tuner.class_name}`` (peft {tuner.peft_version}) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {{{measured}}}
#: The options passed to peft's ``{tuner.class_name}`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH){table}


@dataclass(kw_only=True)
class MyMethodConfig(TargetModulesConfig):
    """peft's ``{tuner.class_name}``: {tuner.facts.summary}."""

    name: str = field(default="mymethod", metadata={{"help": "Method name."}}){targets}{fields}

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Trainable parameters on a model of shape ``arch`` (`peftctl list-methods`); exact
        for the options in MEASURED_WITH, None for others."""
{estimate}
'''


def _estimate_code(tuner: PeftTuner) -> tuple[str, str]:
    """The body of ``trainable_estimate`` and the module-level table it reads (or "")."""
    head = """\
        shapes = arch.targets(self.target_modules)  # every adapted linear: (in, out)
        if shapes is None:
            return None
"""
    if tuner.test_per_shape is not None:
        head += """\
        if all(getattr(self, k) == v for k, v in {**MEASURED_WITH, **TEST_OPTIONS}.items()):
            if any(shape not in TEST_PER_LINEAR for shape in shapes):
                return None
            return TEST_SHARED + sum(TEST_PER_LINEAR[shape] for shape in shapes)
"""
    head += """\
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
"""
    if tuner.per_linear is not None:
        return head + f"        return sum({formula(tuner.per_linear)} for i, o in shapes)", ""
    if tuner.per_shape is None:
        body = "        return None  # peft's count is no sum over adapted linears: count it here"
        return (head + body if tuner.test_per_shape is not None else body), ""
    rows = "".join(f"\n    {shape}: {count}," for shape, count in tuner.per_shape.items())
    table = (
        "\n#: Trainable parameters of one adapted linear, by (in_features, out_features), and\n"
        "#: those every adapted linear shares: measured on probes by ``peftctl new-method``.\n"
        f"PER_LINEAR = {{{rows}\n}}\nSHARED = {tuner.shared}"
    )
    return (
        head
        + """\
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)""",
        table,
    )


def _test_table(tuner: PeftTuner) -> str:
    """The contract test's options and their measured counts (module level), or ""."""
    if not tuner.test_options:
        return ""
    options = "".join(f"\n    {json.dumps(k)}: {_py(v)}," for k, v in tuner.test_options.items())
    text = (
        "\n#: The contract test's options (``tests/test_mymethod.py``): the defaults do not fit"
        f"\n#: the kit's tiny model.\nTEST_OPTIONS = {{{options}\n}}"
    )
    if tuner.test_per_shape is None:
        return text
    rows = "".join(f"\n    {shape}: {count}," for shape, count in tuner.test_per_shape.items())
    return (
        f"{text}\n#: With them, one adapted linear of the tiny model trains (measured on probes):"
        f"\nTEST_PER_LINEAR = {{{rows}\n}}\nTEST_SHARED = {tuner.test_shared}"
    )


def formula(c: tuple[int, int, int, int]) -> str:
    """``c0 + c1*in + c2*out + c3*in*out`` as Python over ``i`` and ``o``, zero terms left out."""
    terms = [(c[0], ""), (c[1], " * i"), (c[2], " * o"), (c[3], " * i * o")]
    return " + ".join(f"{k}{t}" for k, t in terms if k) or "0"


def _field(option: Option) -> str:
    """One dataclass field, laid out as ``ruff format`` would, help text wrapped at 100."""
    head, default = f"    {option.name}: {option.type} = field(", f"default={_py(option.default)}"
    one_line = f'{head}{default}, metadata={{"help": {_quote(option.help)}}})'
    if len(one_line) <= 100:
        return "\n" + one_line
    metadata = f'        metadata={{"help": {_quote(option.help)}}},'
    if len(metadata) > 100:
        lines = _quote(option.help)  # one string where it fits: ruff joins the parts there
        if len(f'            "help": {lines}') > 100:
            parts = textwrap.wrap(option.help, 72, drop_whitespace=False)
            lines = "\n            ".join(_quote(part) for part in parts)
        metadata = f'        metadata={{\n            "help": {lines}\n        }},'
    return f"\n{head}\n        {default},\n{metadata}\n    )"


def _py(value: Any) -> str:
    """A Python literal as ``ruff format`` writes it (strings double-quoted)."""
    return _quote(value) if isinstance(value, str) else repr(value)


def _quote(text: str) -> str:
    """A Python string literal, double-quoted unless that needs more escapes."""
    return repr(text) if text.count('"') > text.count("'") else json.dumps(text)


def method_module(tuner: PeftTuner) -> str:
    """``method.py``: a PeftMethod whose ``peft_config()`` passes the options on (and whose
    ``merge`` refuses in one line when peft cannot merge this tuner on the probes)."""
    refusal, error, torch = "", "", ""
    if not tuner.mergeable:
        error, torch = "PeftctlError, ", "\nfrom torch import nn"
        refusal = f'''

    def merge(self, model: nn.Module) -> nn.Module:
        """Refused (the spec says mergeable=False): peft's {tuner.class_name} adapter does not
        fold into the base weights of every model (`peftctl merge` refuses before loading)."""
        raise PeftctlError(f"{{self.config.name}} does not merge into the base weights")'''
    return f'''"""MyMethod: peft's ``{tuner.class_name}`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import {error}PeftMethod, peft_targets{torch}

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
        ){refusal}
'''


def test_module(tuner: PeftTuner) -> str:
    """``tests/test_<name>.py``: the contract kit (with the facts' test options where the
    defaults do not fit the tiny model) and the recipe, nothing else."""
    options, typing = "", ""
    if tuner.test_options:
        typing = "from typing import Any, ClassVar\n\n"
        items = ", ".join(f"{json.dumps(k)}: {_py(v)}" for k, v in tuner.test_options.items())
        options = (
            "    # the defaults do not fit the tiny model (config.py measured these too)\n"
            f"    method_options: ClassVar[dict[str, Any]] = {{{items}}}\n"
        )
    return f'''"""MyMethod passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

{typing}from peftctl.testing import MethodContract, shipped_recipe


class TestMyMethod(MethodContract):
    method_name = "mymethod"
{options}

def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("mymethod_sst2")
    assert recipe.command == "peftctl train mymethod_sst2"
    assert recipe.config.method.name == "mymethod" and recipe.config.eval.after_train
'''


def plugin_edits(tuner: PeftTuner) -> list[tuple[str, str]]:
    """Changes to the template's ``plugin.py``: summary (with its paper), category and
    mergeability."""
    return [
        (
            'summary="Trained per-channel scales on the outputs of linear layers"',
            _summary_argument(_summary(tuner)),
        ),
        ('category="additive",', f'category="{tuner.facts.category}",'),
        ("mergeable=True,", f"mergeable={tuner.mergeable},"),
    ]


def _summary_argument(summary: str) -> str:
    """``summary="..."`` as ``ruff`` accepts it in plugin.py: split in brackets when the line
    would pass 100 characters."""
    line = f"summary={json.dumps(summary)}"
    if len(line) + 14 <= 100:  # its indentation and the comma
        return line
    parts = [summary]  # one string in brackets where it fits: ruff joins the parts there
    if 16 + len(json.dumps(summary)) > 100:
        parts = textwrap.wrap(summary, 70, drop_whitespace=False, break_on_hyphens=False)
    lines = "".join(f"\n                {json.dumps(part)}" for part in parts)
    return f"summary=({lines}\n            )"


def readme_edits(tuner: PeftTuner) -> list[tuple[str, str]]:
    """Changes to the template's README: what the method is, and its paper."""
    old = (
        "one trained scale per output\nchannel of the target linear layers (the query and value "
        "projections by default, on every\nmodel family). The scales start at 1, so training "
        "starts from the base model, and\n`peftctl merge` folds them into the weights."
    )
    merge = "`peftctl merge` folds it into the weights" if tuner.mergeable else "it does not merge"
    facts = tuner.facts
    paper = f" ({facts.paper}, {_link(facts.link)})" if facts.paper and facts.link else ""
    text = (
        f"peft's `{tuner.class_name}`, {facts.summary}{paper}, on the target linear layers ("
        f"{_where(tuner)} by default); its options are the recipe's `method.*` "
        f"keys; {merge}."
    )
    first, *rest = textwrap.wrap(text, 92, initial_indent=" " * 48, break_on_hyphens=False)
    new = "\n".join([first.strip(), *rest])
    return [
        (old, new),
        ("MyMethod for [peftctl]", f"{_title(tuner)} for [peftctl]"),
        ("replace the method with yours", "adjust the options to yours"),
    ]


def pyproject_edits(tuner: PeftTuner) -> list[tuple[str, str]]:
    """Changes to the template's ``pyproject.toml``: description and peft as a dependency."""
    major_minor = ".".join(tuner.peft_version.split(".")[:2])
    return [
        (
            "MyMethod for peftctl: trained per-channel scales on the outputs of linear layers.",
            f"{_title(tuner)} for peftctl: {_lower(_summary(tuner))}, "
            f"through peft's {tuner.class_name}.",
        ),
        (
            '"torch>=2.4"]',
            ", ".join(json.dumps(r) for r in (f"peft>={major_minor}", *tuner.facts.requires))
            + ', "torch>=2.4"]',
        ),
    ]


def recipe_edits(tuner: PeftTuner) -> list[tuple[str, str]]:
    """Changes to the template's recipe: what it trains, the options peftctl sets beyond
    peft's defaults, and a starting lr for the type (said to be untuned)."""
    facts = tuner.facts
    lines = textwrap.wrap(
        f"{_title(tuner)} ({_described(tuner)}) on {_where(tuner)}, "
        f"through peft's {tuner.class_name}, on GLUE SST-2 with the default model, "
        f"SmolLM2-135M-Instruct. The lr, {facts.lr:g}, is the starting lr of peft's method "
        "comparison, not yet tuned on this budget (a later bench tunes it).",
        95,
        break_on_hyphens=False,
    )
    lines.append("Needs: pip install peftctl-mymethod")
    options = "".join(f"  {k}: {_yaml(v)}\n" for k, v in facts.options.items())
    return [
        (
            "# MyMethod (trained output scales on the query and value projections)\n"
            "# on GLUE SST-2 with the default model, SmolLM2-135M-Instruct.",
            "\n".join(f"# {line}" for line in lines),
        ),
        ("  lr: 5.0e-3", f"  lr: {facts.lr:.1e}"),
        (
            "  target_modules: [role:query, role:value]\n",
            f"  target_modules: [{', '.join(_targets(tuner))}]\n{options}",
        ),
    ]


def _targets(tuner: PeftTuner) -> list[str]:
    """The default ``target_modules``: the facts' where the paper chose others, else the query
    and value projections (``TargetModulesConfig``'s)."""
    return list(tuner.facts.targets) or ["role:query", "role:value"]


def _where(tuner: PeftTuner) -> str:
    """``the query and value projections``: the default targets in words."""
    targets = _targets(tuner)
    if all(t.startswith("role:") for t in targets):
        return f"the {' and '.join(t.removeprefix('role:') for t in targets)} projections"
    return ", ".join(f"`{t}`" for t in targets)


def _targets_field(tuner: PeftTuner) -> str:
    """A ``target_modules`` field where the facts name other default targets, else ""."""
    if not tuner.facts.targets:
        return ""
    return f"""
    target_modules: list[str] = field(
        default_factory=lambda: {json.dumps(list(tuner.facts.targets))},
        metadata={{
            "help": "The layers to adapt, as peft's target_modules: name suffixes, roles "
            "(role:query, ...) or ['all-linear']. Default: "
            "{_where(tuner)}, the paper's choice."
        }},
    )"""


def _title(tuner: PeftTuner) -> str:
    """The method's own spelling (``LoHa``, ``VB-LoRA``): the facts' or peft's class name."""
    return tuner.facts.title or tuner.class_name.removesuffix("Config")


def _summary(tuner: PeftTuner) -> str:
    """``Low-rank Hadamard product updates (Hyeon-Woo et al., 2022)``; without a paper in the
    facts, ``peft's LoHaConfig: low-rank Hadamard product updates``."""
    facts = tuner.facts
    if not facts.paper:
        return f"peft's {tuner.class_name}: {facts.summary}"
    return f"{facts.summary[:1].upper()}{facts.summary[1:]} ({facts.paper})"


def _described(tuner: PeftTuner) -> str:
    """``low-rank Hadamard product updates, Hyeon-Woo et al., 2022``: for inside brackets."""
    facts = tuner.facts
    return f"{facts.summary}, {facts.paper}" if facts.paper else _summary(tuner)


def _lower(text: str) -> str:
    return text if text.startswith("peft's") else text[:1].lower() + text[1:]


def _link(link: str) -> str:
    """A markdown link to an arXiv id or a URL."""
    if link.startswith("http"):
        return f"[paper]({link})"
    return f"arXiv [{link}](https://arxiv.org/abs/{link})"


def _yaml(value: Any) -> str:
    """A recipe value: numbers and flags as YAML writes them, strings as JSON (valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)
