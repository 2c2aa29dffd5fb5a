"""Suggestions for a mistyped name: the fewest typing edits among the close matches."""

from __future__ import annotations

import pytest

from peftctl.errors import did_you_mean


@pytest.mark.parametrize(
    ("typed", "choices", "suggested"),
    [
        ("lroa", ["road", "lora", "loha"], "lora"),  # one swap beats difflib's first pick
        ("trian", ["train", "eval"], "train"),
        ("sst3", ["sst2", "stsb"], "sst2"),
        ("loraa", ["lora", "loha", "lokr"], "lora"),
    ],
)
def test_the_closest_by_typing_edits(typed, choices, suggested):
    assert did_you_mean(typed, choices) == f" (did you mean '{suggested}'?)"


def test_nothing_close_suggests_nothing():
    assert did_you_mean("zzz", ["lora", "ia3"]) == ""
