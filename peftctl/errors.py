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
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``: among difflib's
    close matches, the fewest typing edits (a swapped pair of letters is one), so 'lroa'
    means 'lora', not 'road'."""
    close = difflib.get_close_matches(name, list(choices), n=5, cutoff=0.6)
    if not close:
        return ""
    best = min(close, key=lambda choice: (_typing_edits(name, choice), close.index(choice)))
    return f" (did you mean '{best}'?)"


def _typing_edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    two neighbouring letters."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def unknown_name(kind: str, name: str, choices: Iterable[str], hint: str) -> PeftctlError:
    """Build the standard error for a name nobody registered."""
    choices = sorted(choices)
    return PeftctlError(f"unknown {kind} '{name}'{did_you_mean(name, choices)}; {hint}")


@functools.cache
def warn_once(message: str) -> None:
    """Print ``warning: message`` to stderr, once per process for the same text."""
    print(f"warning: {message}", file=sys.stderr)
