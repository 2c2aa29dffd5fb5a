"""The SST-2 sample inside peftctl: the quickstart's own rows, used when nothing else serves."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from peftctl.config.recipe import load_recipe
from peftctl.datasets.loading import load_split

STAGED = Path(os.environ["PEFTCTL_DATA_DIR"]) / "sst2"


@pytest.fixture
def no_data_and_no_hub(monkeypatch):
    monkeypatch.delenv("PEFTCTL_DATA_DIR")

    def refuse(*_, **__):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.skipif(not STAGED.is_dir(), reason="needs the staged SST-2")
def test_the_sample_is_what_the_quickstart_draws_from_the_whole_splits(no_data_and_no_hub):
    dataset = load_recipe("lora_sst2").dataset
    sampled = {split: load_split(dataset, split) for split in ("train", "eval")}
    dataset.data_dir = str(STAGED.parent)
    for split, examples in sampled.items():
        whole = load_split(dataset, split)
        assert examples.origin["source"].startswith("sample:")
        assert (
            whole.origin["sampled"]["rows"] == len(examples) == (800 if split == "train" else 200)
        )
        assert [(e.prompt, e.target) for e in examples] == [(e.prompt, e.target) for e in whole]


def test_without_data_dir_and_hub_the_sample_serves_and_says_so(no_data_and_no_hub, caplog):
    dataset = load_recipe("lora_sst2").dataset
    examples = load_split(dataset, "train")
    assert len(examples) == 800 and examples.origin["source"].endswith("samples/sst2/train.jsonl")
    assert "using the 800-row sample shipped with peftctl" in caplog.text
    lines = Path(examples.origin["source"][7:]).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert {"sentence", "label", "idx"} == set(rows[0])
