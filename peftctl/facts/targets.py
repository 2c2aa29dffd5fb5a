"""Which modules a method adapts: the recipe's ``target_modules``, with peft's semantics.

- a string is a regular expression that must match a module's whole name (``re.fullmatch``);
- a list names modules: a module matches when its name equals an entry or ends with
  ``"." + entry`` (``q_proj`` matches ``model.layers.0.self_attn.q_proj``);
- ``"all-linear"`` (or ``["all-linear"]``) is every linear layer except the output head.

Names are those of the causal LM's ``named_modules()`` (``model.layers.0.mlp.up_proj``).
Matching names needs no torch; :func:`peftctl.methods.targets.target_linears` finds the
layers of a model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

ALL_LINEAR = "all-linear"

Targets = str | Sequence[str]


def is_all_linear(targets: Targets) -> bool:
    """True for ``"all-linear"`` and ``["all-linear"]``."""
    return targets == ALL_LINEAR or (not isinstance(targets, str) and list(targets) == [ALL_LINEAR])


def matches(name: str, targets: Targets) -> bool:
    """Whether module ``name`` is named by ``targets`` (``all-linear`` is decided by the
    module's type, not its name: see :func:`target_linears`)."""
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return any(name == entry or name.endswith(f".{entry}") for entry in targets)


def unmatched_entry(names: Iterable[str], targets: Targets) -> str | None:
    """The first entry of ``targets`` (a regular expression is one entry) that names none of
    the modules ``names``, or None when each names at least one."""
    names = list(names)
    entries = [targets] if isinstance(targets, str) else list(targets)
    for entry in entries:
        rule = entry if isinstance(targets, str) else [entry]
        if not any(matches(name, rule) for name in names):
            return entry
    return None


def peft_targets(targets: Targets) -> str | list[str]:
    """``targets`` as peft's ``target_modules`` takes them (``"all-linear"`` as a string)."""
    if is_all_linear(targets):
        return ALL_LINEAR
    return targets if isinstance(targets, str) else list(targets)
