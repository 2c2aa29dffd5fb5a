"""Build nested dataclasses from plain mappings, checked against their type hints.

Every mistake is a one-line :class:`PeftctlError` naming the dotted key and what to do.
Field metadata may carry ``help``, ``min``, ``max`` (inclusive bounds), ``choices`` and
``aliases`` (other accepted spellings of a choice).
Only the standard library and ``peftctl.errors`` are imported here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

from peftctl.errors import PeftctlError, did_you_mean

T = TypeVar("T")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"null", "none", "~", ""}


def build(cls: type[T], data: Mapping[str, Any] | None, prefix: str = "") -> T:
    """An instance of dataclass ``cls`` from ``data``; missing keys keep their defaults."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise PeftctlError(f"{prefix or 'the recipe'} must be a mapping of keys, not {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            raise unknown_key(dotted(prefix, str(key)), fields)
    values = {}
    for name, value in data.items():
        key = dotted(prefix, name)
        values[name] = _alias(coerce(value, hints[name], key), fields[name])
        check_range(values[name], fields[name], key)
    try:
        instance = cls(**values)
    except TypeError as error:  # a required field is missing
        missing = [n for n, f in fields.items() if n not in values and _required(f)]
        if not missing:
            raise
        raise PeftctlError(f"{dotted(prefix, missing[0])} is required; set it") from error
    validate = getattr(instance, "validate", None)
    if callable(validate):
        validate()
    return instance


def dotted(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def unknown_key(key: str, fields: Mapping[str, Any]) -> PeftctlError:
    """The error for a key the schema does not have, with a suggestion."""
    prefix, _, name = key.rpartition(".")
    suggestion = did_you_mean(name, fields)
    known = ", ".join(sorted(fields))
    section = f"'{prefix}'" if prefix else "the top level"
    return PeftctlError(f"unknown key '{key}'{suggestion}; {section} accepts: {known}")


def coerce(value: Any, hint: Any, key: str) -> Any:
    """``value`` converted to type ``hint``, or a one-line error naming ``key``."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        return _coerce_union(value, typing.get_args(hint), key)
    if origin is Literal:
        return _coerce_literal(value, typing.get_args(hint), key)
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else build(hint, value, key)
    if origin in (list, tuple) or hint in (list, tuple):
        return _coerce_sequence(value, hint, key)
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise _wrong_type(key, value, "a mapping")
        return dict(value)
    if hint is bool:
        return _coerce_bool(value, key)
    if hint is int:
        return _coerce_int(value, key)
    if hint is float:
        return _coerce_float(value, key)
    if hint is str:
        if isinstance(value, (Mapping, list, tuple)) or value is None:
            raise _wrong_type(key, value, "a string")
        return str(value)
    raise TypeError(f"{key}: unsupported type {hint!r} in the config schema")


def check_range(value: Any, spec: dataclasses.Field, key: str) -> None:
    """Apply the ``min``/``max``/``choices`` metadata of field ``spec`` to ``value``."""
    if value is None:
        return
    low, high = spec.metadata.get("min"), spec.metadata.get("max")
    if low is not None and value < low:
        raise PeftctlError(f"{key}={value} is out of range; it must be >= {low}")
    if high is not None and value > high:
        raise PeftctlError(f"{key}={value} is out of range; it must be <= {high}")
    choices = spec.metadata.get("choices")
    if choices and value not in choices:
        raise PeftctlError(
            f"{key}={value} is not one of {', '.join(map(str, choices))}"
            f"{did_you_mean(str(value), choices)}"
        )


def _alias(value: Any, spec: dataclasses.Field) -> Any:
    """The canonical value for an alias the field's ``aliases`` metadata names."""
    aliases = spec.metadata.get("aliases", {})
    return aliases.get(value, value) if isinstance(value, str) else value


def to_plain(instance: Any) -> Any:
    """A dataclass tree as plain dicts/lists (for YAML and JSON)."""
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return {f.name: to_plain(getattr(instance, f.name)) for f in dataclasses.fields(instance)}
    if isinstance(instance, (list, tuple)):
        return [to_plain(item) for item in instance]
    if isinstance(instance, dict):
        return {k: to_plain(v) for k, v in instance.items()}
    return instance


def field_help(cls: type) -> dict[str, str]:
    """``{field name: help text}`` of dataclass ``cls``."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def field_default(spec: dataclasses.Field) -> Any:
    """The default value of dataclass field ``spec`` (``dataclasses.MISSING`` if it has none)."""
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return dataclasses.MISSING


def _required(spec: dataclasses.Field) -> bool:
    no_default = spec.default is dataclasses.MISSING
    return no_default and spec.default_factory is dataclasses.MISSING


def _wrong_type(key: str, value: Any, expected: str) -> PeftctlError:
    return PeftctlError(f"{key}={value!r} is not {expected}; give {expected}")


def _coerce_union(value: Any, args: tuple, key: str) -> Any:
    if type(None) in args and (value is None or (isinstance(value, str) and value in _NONE)):
        return None
    options = [a for a in args if a is not type(None)]
    errors = []
    for option in options:
        try:
            return coerce(value, option, key)
        except PeftctlError as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise _wrong_type(key, value, names)


def _coerce_literal(value: Any, choices: tuple, key: str) -> Any:
    for choice in choices:
        if value == choice or (isinstance(value, str) and str(choice) == value):
            return choice
    raise PeftctlError(
        f"{key}={value} is not one of {', '.join(map(str, choices))}"
        f"{did_you_mean(str(value), [str(c) for c in choices])}"
    )


def _coerce_sequence(value: Any, hint: Any, key: str) -> Any:
    args = typing.get_args(hint)
    item_hint = args[0] if args else Any
    if isinstance(value, str):  # "q_proj,v_proj" from the command line
        value = [part.strip() for part in value.strip("[]").split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise _wrong_type(key, value, "a list")
    items = [coerce(item, item_hint, f"{key}[{i}]") for i, item in enumerate(value)]
    origin = typing.get_origin(hint) or hint
    return tuple(items) if origin is tuple else items


def _coerce_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _wrong_type(key, value, "true or false")


def _coerce_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise _wrong_type(key, value, "an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            number = None
        if number is not None and number.is_integer():
            return int(number)
    raise _wrong_type(key, value, "an integer")


def _coerce_float(value: Any, key: str) -> float:
    if isinstance(value, bool):
        raise _wrong_type(key, value, "a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _wrong_type(key, value, "a number")
