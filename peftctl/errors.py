"""Errors a user can fix: printed as one line, exit code 2. Anything else is a bug."""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Iterable


class PeftctlError(Exception):
    """A mistake the user can fix; the message says what is wrong and what to do."""

    exit_code = 2


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str], hint: str) -> PeftctlError:
    """Build the standard error for a name nobody registered."""
    choices = sorted(choices)
    return PeftctlError(f"unknown {kind} '{name}'{did_you_mean(name, choices)}; {hint}")


@functools.cache
def warn_once(message: str) -> None:
    """Print ``warning: message`` to stderr, once per process for the same text."""
    print(f"warning: {message}", file=sys.stderr)
