"""Fixtures of the training tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """accelerate keeps process-wide singletons; each test starts without them."""
    from accelerate.state import AcceleratorState, GradientState, PartialState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    PartialState._reset_state()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    """A tiny model + tokenizer on disk, trained on SST-2 sentences (for the CLI)."""
    import json
    import os
    from pathlib import Path

    from tests.training.tiny import save_tiny_model

    data = Path(os.environ["PEFTCTL_DATA_DIR"]) / "sst2" / "train.jsonl"
    with data.open() as handle:
        texts = [json.loads(next(handle))["sentence"] for _ in range(2000)]
    texts += ["negative positive Classify the sentiment user assistant system"] * 20
    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"), texts)
