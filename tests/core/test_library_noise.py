"""Library messages a user cannot act on stay out of peftctl's output (issue 14, class 6)."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys

import pytest

from peftctl.library_noise import NOISE, silence_library_noise

BNB_LOGGER = "bitsandbytes.backends.cpu.ops"
BNB_NOISE = "Failed to load CPU gemm_4bit_forward from kernels-community: No module named 'kernels'"


def test_the_known_message_is_dropped_and_others_pass(caplog):
    silence_library_noise()
    logger = logging.getLogger(BNB_LOGGER)
    with caplog.at_level(logging.WARNING, logger=BNB_LOGGER):
        logger.warning(BNB_NOISE)
        logger.warning("Something a user should read")
    assert [r.getMessage() for r in caplog.records] == ["Something a user should read"]
    assert set(NOISE) == {BNB_LOGGER}


@pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes is not installed"
)
def test_a_model_load_with_peft_prints_nothing(tiny_model_dir):
    """peft imports bitsandbytes whenever it is installed; the import used to print a
    warning about an optional CPU kernel on every model load."""
    code = (
        "import peftctl_lora.method\n"
        "from peftctl.models.loading import load_model\n"
        f"load_model({tiny_model_dir!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "gemm_4bit_forward" not in done.stderr
    assert done.stderr == ""


def test_a_known_library_warning_is_dropped_and_others_pass():
    import warnings

    silence_library_noise()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        silence_library_noise()  # what peftctl installed at import, inside this context
        for name in ("is_gradient_checkpointing", "something_else"):
            warnings.warn(f"`{name}` is deprecated", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["`something_else` is deprecated"]
