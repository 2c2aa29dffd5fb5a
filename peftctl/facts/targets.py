"""Which modules a method adapts: the recipe's ``target_modules``, with peft's semantics.

- a string is a regular expression that must match a module's whole name (``re.fullmatch``);
- a list names modules: a module matches when its name equals an entry or ends with
  ``"." + entry`` (``q_proj`` matches ``model.layers.0.self_attn.q_proj``);
- ``"all-linear"`` (or ``["all-linear"]``) is every linear layer except the output head;
- ``"default"`` (or ``["default"]``) is peft's own choice for the model type (peft methods);
- a list entry ``role:<role>`` stands for the module playing that role in the model's family
  (``role:query`` is ``q_proj`` on Llama, ``qkv_proj`` on Phi-3, ``attn.c_attn`` on GPT-2;
  see :mod:`peftctl.facts.families`); :func:`resolve_targets` replaces roles by names.

Names are those of the causal LM's ``named_modules()`` (``model.layers.0.mlp.up_proj``).
Matching names needs no torch; :func:`peftctl.methods.targets.target_linears` finds the
layers of a model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from peftctl.errors import PeftctlError
from peftctl.facts.families import FAMILIES, GROUPS, NORMS, ROLE_PREFIX, ROLES, Family, family_of

ALL_LINEAR = "all-linear"
PEFT_DEFAULT = "default"

Targets = str | Sequence[str]


def is_all_linear(targets: Targets) -> bool:
    """True for ``"all-linear"`` and ``["all-linear"]``."""
    return targets == ALL_LINEAR or (not isinstance(targets, str) and list(targets) == [ALL_LINEAR])


def is_peft_default(targets: Targets) -> bool:
    """True for ``"default"`` and ``["default"]``: peft picks the modules for the model type."""
    return targets == PEFT_DEFAULT or (
        not isinstance(targets, str) and list(targets) == [PEFT_DEFAULT]
    )


def uses_roles(targets: Targets) -> bool:
    """True when a list entry of ``targets`` names a role (``role:query``)."""
    return not isinstance(targets, str) and any(e.startswith(ROLE_PREFIX) for e in targets)


def resolve_targets(
    targets: Targets, model_type: str | None, field: str = "method.target_modules"
) -> Targets:
    """``targets`` with each ``role:<role>`` entry replaced by the module names playing it in
    ``model_type``'s family (a fused module once); anything else is returned unchanged.
    Raises a one-line :class:`PeftctlError` (naming ``field``) for an unknown role, a role the
    family lacks, or roles on a family peftctl has no table for."""
    if not uses_roles(targets):
        return targets
    family = family_of(model_type)
    if family is None:
        raise PeftctlError(
            f"{field}: roles need a model family peftctl knows ({', '.join(FAMILIES)}); this "
            f"model is '{model_type}': name its modules instead, or use all-linear"
        )
    entries = [_role_entries(entry, family, field) for entry in targets]
    return list(dict.fromkeys(name for names in entries for name in names))


def _role_entries(entry: str, family: Family, field: str) -> list[str]:
    if not entry.startswith(ROLE_PREFIX):
        return [entry]
    role = entry.removeprefix(ROLE_PREFIX)
    if role == NORMS:
        paths = [*family.norms, family.final_norm]
    elif role in GROUPS:
        paths = [family.roles[r] for r in GROUPS[role] if r in family.roles]
    elif role in family.roles:
        paths = [family.roles[role]]
    else:
        known = ", ".join([*ROLES, *GROUPS, NORMS])
        has = ", ".join(family.roles)
        why = (
            f"{family.name} has no {role} projection (it has {has})"
            if role in ROLES
            else (f"unknown role '{role}'; roles are {known}")
        )
        raise PeftctlError(f"{field}: {entry}: {why}")
    return [family.target_entry(path) for path in dict.fromkeys(paths)]


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
    """``targets`` as a peft config takes them (``"all-linear"`` as a string); roles and
    ``default`` stay until the model is known (:class:`peftctl.api.PeftMethod` resolves them)."""
    if is_all_linear(targets) or is_peft_default(targets):
        return ALL_LINEAR if is_all_linear(targets) else PEFT_DEFAULT
    return targets if isinstance(targets, str) else list(targets)
