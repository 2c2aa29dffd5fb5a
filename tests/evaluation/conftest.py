"""The evaluation tests train tiny runs as the training tests do: same fixtures."""

from tests.training.conftest import _fresh_accelerate_state  # noqa: F401
