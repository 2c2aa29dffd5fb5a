"""One shared formatter: a dataset row becomes (prompt, target, label), driven by the spec.

A spec's ``options`` say how: ``template`` (prompt body with ``{column}`` placeholders in
``str.format`` syntax, so ``{choices[0]}`` works), ``label`` (the gold column), ``label_kind``
(how that column maps to the target, see :data:`LABEL_KINDS`), ``answer`` (column with a math
set's final answer) and ``prepare`` (``"module:attr"``, row -> rows, for rows needing reshaping).
The prompt is ``instruction + "\\n" + body`` as in PEFT-Factory.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from peftctl.specs import DatasetSpec

#: index: 0-based int -> verbalizers[i]; one_based: "1" -> verbalizers[0]; value: the column is
#: one of the verbalizers; map: options["label_map"][str(value)]; number: a float as text;
#: text: the column itself (generation).
LABEL_KINDS = ("index", "one_based", "value", "map", "number", "text")


class RowError(ValueError):
    """A row that cannot be rendered; the loader adds which file and row."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field '{field}': {message}")
        self.field = field


@dataclass(frozen=True)
class Rendered:
    prompt: str
    target: str
    label: int | None
    answer: str | None = None


def format_row(row: Mapping[str, Any], spec: DatasetSpec) -> Rendered:
    """Render one (prepared) row of ``spec``'s dataset."""
    options = spec.options
    if _is_prerendered(row, options):
        return _from_prerendered(row, spec)
    body = render_template(options["template"], row)
    prompt = f"{spec.instruction}\n{body}" if spec.instruction else body
    target, label = _target(row, spec)
    answer_column = options.get("answer")
    answer = None if answer_column is None else format_number(_field(row, answer_column))
    return Rendered(prompt, target, label, answer)


def template_fields(template: str) -> list[str]:
    """The column names a template refers to (``{choices[0]}`` -> ``choices``)."""
    names = []
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is None:
            continue
        root = field_name.split(".")[0].split("[")[0]
        if not root or root.isdigit():
            raise RowError(field_name or "{}", "placeholders must name a column, e.g. {text}")
        names.append(root)
    return names


def render_template(template: str, row: Mapping[str, Any]) -> str:
    """``template`` with its placeholders filled from ``row``; a missing column is a RowError."""
    for name in template_fields(template):
        _field(row, name)
    try:
        return template.format_map(row)
    except (KeyError, IndexError, AttributeError, TypeError) as error:
        raise RowError(str(error).strip("'"), f"cannot fill the template: {error}") from error


def format_number(value: Any) -> str:
    """``51.0`` -> ``"51"``, ``2.50`` -> ``"2.5"``; other text unchanged."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    if number.is_integer():
        return str(int(number))
    return f"{number:.6f}".rstrip("0").rstrip(".")


def _field(row: Mapping[str, Any], name: str, *, allow_blank: bool = True) -> Any:
    """``row[name]``; a missing column or a null value (or a blank one, for targets) is an error."""
    if name not in row:
        columns = ", ".join(map(str, row)) or "none"
        raise RowError(name, f"no such column (columns: {columns})")
    value = row[name]
    if value is None or (not allow_blank and isinstance(value, str) and not value.strip()):
        raise RowError(name, "is empty")
    return value


def _target(row: Mapping[str, Any], spec: DatasetSpec) -> tuple[str, int | None]:
    column = spec.options.get("label", "label")
    kind = spec.options.get("label_kind", "index")
    value = _field(row, column, allow_blank=False)
    if kind == "text":
        return str(value), None
    if kind == "number":
        try:
            return str(round(float(value), 3)), None
        except ValueError as error:
            raise RowError(column, f"{value!r} is not a number") from error
    if kind == "map":
        mapped = spec.options["label_map"].get(_key(value))
        if mapped is None:
            known = ", ".join(spec.options["label_map"])
            raise RowError(column, f"label {value!r} is not in the verbalizer ({known})")
        return mapped, spec.verbalizers.index(mapped)
    return _classify(value, kind, column, spec.verbalizers)


def _classify(value: Any, kind: str, column: str, verbalizers: tuple[str, ...]):
    if kind == "value":
        index = verbalizers.index(value) if value in verbalizers else -1
    else:
        try:
            index = int(value) - (1 if kind == "one_based" else 0)
        except (TypeError, ValueError):
            index = -1
    if not 0 <= index < len(verbalizers):
        raise RowError(column, f"label {value!r} is not one of the {len(verbalizers)} classes")
    return verbalizers[index], index


def _key(value: Any) -> str:
    """Verbalizer keys are strings; ``1``, ``1.0`` and ``"1"`` all match ``"1"``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_prerendered(row: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
    """Rows of PEFT-Factory's own hub copy (kinit/peft-factory) carry ``inputs``/``targets``."""
    if "inputs" not in row or "targets" not in row:
        return False
    return not set(template_fields(options.get("template", ""))) <= set(row)


def _from_prerendered(row: Mapping[str, Any], spec: DatasetSpec) -> Rendered:
    body = str(_field(row, "inputs"))
    target = str(_field(row, "targets", allow_blank=False)).strip()
    prompt = f"{spec.instruction}\n{body}" if spec.instruction else body
    label = None
    if spec.task == "classification":
        lowered = [v.lower() for v in spec.verbalizers]
        if target.lower() not in lowered:
            raise RowError("targets", f"{target!r} is not one of {', '.join(spec.verbalizers)}")
        label = lowered.index(target.lower())
        target = spec.verbalizers[label]
    return Rendered(prompt, target, label)
