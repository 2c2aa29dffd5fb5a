"""The 27 built-in datasets: registered with PEFT-Factory's texts; every staged split renders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from peftctl.datasets.catalog import BUILTIN_DATASETS
from peftctl.datasets.config import DatasetConfig
from peftctl.datasets.loading import load_split
from peftctl.errors import PeftctlError
from tests.staged import needs_staged

GLUE = ["mnli", "qqp", "qnli", "sst2", "mrpc", "rte", "cola", "stsb"]
SUPERGLUE = ["boolq", "cb", "wsc", "wic", "multirc", "copa", "record"]
REASONING = ["mmlu", "piqa", "siqa", "hellaswag", "winogrande", "openbookqa", "math_qa"]
MATH_CODE = ["gsm8k", "svamp", "conala", "codealpacapy", "apps"]
NAMES = GLUE + SUPERGLUE + REASONING + MATH_CODE
MISSING = ["mnli", "qqp", "record", "hellaswag", "codealpacapy", "apps"]
DATA = Path(os.environ["PEFTCTL_DATA_DIR"])
SPECS = {spec.name: spec for spec in BUILTIN_DATASETS}


def _staged():
    for spec in BUILTIN_DATASETS:
        for split, real in spec.splits.items():
            if (DATA / spec.options.get("local_dir", spec.name) / f"{real}.jsonl").is_file():
                yield pytest.param(spec.name, split, id=f"{spec.name}-{split}")


def test_all_27_registered_through_the_plugin_manager():
    from peftctl.plugin_manager import get_plugins

    registered = {d.name for d in get_plugins().datasets.all()}
    assert set(NAMES) <= registered
    assert len(NAMES) == 27


@pytest.mark.parametrize("spec", BUILTIN_DATASETS, ids=lambda s: s.name)
def test_records_are_valid(spec):
    spec.validate()
    assert spec.instruction.startswith(("Classify", "Based", "Assign", "Answer"))
    assert {"train", "eval"} <= set(spec.splits)


def test_instructions_are_peft_factorys():
    assert SPECS["sst2"].instruction == (
        "Classify the following sentence into negative and positive classes. "
        "Respond only with the corresponding class."
    )
    assert SPECS["wsc"].instruction.startswith(
        "Based on the following sentence, determine whether the pronoun marked with * * is "
        "referencing the noun marked with # #."
    )
    assert SPECS["mnli"].splits["eval"] == "validation_mismatched"
    assert SPECS["mmlu"].splits["train"] == "auxiliary_train"
    assert SPECS["gsm8k"].splits["eval"] == "test"


@needs_staged("sst2")
def test_at_least_21_datasets_are_staged():
    staged = {p.values[0] for p in _staged()}
    assert len(staged) == 21
    assert not staged & set(MISSING)


@pytest.mark.parametrize(("name", "split"), list(_staged()))
def test_every_staged_row_renders(name, split):
    spec = SPECS[name]
    examples = load_split(DatasetConfig(name=name), split)
    assert examples and examples.origin["source"].endswith(".jsonl")
    assert len({ex.id for ex in examples}) == len(examples)
    for ex in examples:
        assert ex.prompt.startswith(spec.instruction + "\n")
        assert ex.prompt.strip() != spec.instruction
        if spec.task == "classification":
            assert ex.target == spec.verbalizers[ex.label]
        elif spec.task == "regression":
            assert 0.0 <= float(ex.target) <= 5.0
        else:
            assert ex.target.strip()


@pytest.mark.parametrize("name", MISSING)
def test_missing_datasets_fail_clearly_offline(name, offline_hub):
    with pytest.raises(PeftctlError, match="is not available offline") as info:
        load_split(DatasetConfig(name=name), "eval")
    message = str(info.value)
    assert "\n" not in message
    assert str(DATA / name) in message or "codealpaca_py" in message
    assert SPECS[name].hub_id in message
