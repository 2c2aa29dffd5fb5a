"""The generic typed loader: nested dataclasses, coercion, ranges, one-line errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from peftctl import typed
from peftctl.config.recipe import merge, parse_overrides
from peftctl.config.sections import TrainConfig
from peftctl.errors import PeftctlError


@dataclass
class Inner:
    rate: float = field(default=0.1, metadata={"min": 0.0, "max": 1.0})
    names: list[str] = field(default_factory=lambda: ["a"])
    mode: str = field(default="x", metadata={"choices": ("x", "y")})


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    steps: int = 3
    flag: bool = False
    limit: int | None = None


def test_defaults_and_nested_values():
    built = typed.build(Outer, {"inner": {"rate": "1e-1", "names": "p,q"}, "steps": "7"})
    assert built == Outer(Inner(rate=0.1, names=["p", "q"]), steps=7)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stpes": 1}, r"unknown key 'stpes' \(did you mean 'steps'\?\); the top level accepts"),
        ({"inner": {"rtae": 1}}, r"unknown key 'inner.rtae' \(did you mean 'rate'\?\)"),
        ({"steps": "many"}, r"steps='many' is not an integer"),
        ({"steps": 1.5}, r"steps=1.5 is not an integer"),
        ({"flag": "maybe"}, r"flag='maybe' is not true or false"),
        ({"inner": {"rate": 2}}, r"inner.rate=2.0 is out of range; it must be <= 1.0"),
        ({"inner": {"mode": "z"}}, r"inner.mode=z is not one of x, y"),
        ({"inner": 3}, r"inner must be a mapping"),
        ({"limit": "lots"}, r"limit='lots' is not an integer"),
    ],
)
def test_mistakes_are_one_line_errors_naming_the_key(data, message):
    with pytest.raises(PeftctlError, match=message) as info:
        typed.build(Outer, data)
    assert "\n" not in str(info.value)


def test_optional_accepts_null_and_booleans_accept_words():
    assert typed.build(Outer, {"limit": "null", "flag": "yes"}) == Outer(limit=None, flag=True)
    assert typed.build(Outer, {"limit": "5"}).limit == 5


def test_overrides_become_a_nested_tree_and_merge_deeply():
    tree = parse_overrides(["train.lr=1e-4", "train.batch_size=4", "seed=1", "method.t=[a, b]"])
    assert tree == {
        "train": {"lr": "1e-4", "batch_size": "4"},
        "seed": "1",
        "method": {"t": ["a", "b"]},
    }
    merged = merge({"train": {"lr": 1.0, "epochs": 2}}, tree)
    assert merged["train"] == {"lr": "1e-4", "epochs": 2, "batch_size": "4"}


@pytest.mark.parametrize("bad", ["train.lr", "=3", "train..lr=1"])
def test_malformed_overrides(bad):
    with pytest.raises(PeftctlError, match=r"must look like section\.key=value"):
        parse_overrides([bad])


def test_every_train_field_has_help_text():
    assert all(typed.field_help(TrainConfig).values())


def test_train_section_ranges():
    with pytest.raises(PeftctlError, match=r"train.warmup_ratio=1.5 is out of range"):
        typed.build(TrainConfig, {"warmup_ratio": 1.5}, "train")
    with pytest.raises(
        PeftctlError, match=r"train.precision=bf61 is not one of .*did you mean 'bf16'"
    ):
        typed.build(TrainConfig, {"precision": "bf61"}, "train")
