"""Turn a model's raw generated text into a prediction that metrics can score.

One parser per answer kind (see :data:`ANSWER_KINDS`); each returns the prediction as a
string, or ``None`` when nothing usable is in the text (counted wrong and reported as
``invalid_rate``). The rules are documented in docs/metrics.md.
"""

from __future__ import annotations

import ast
import math
import re
import string
from collections.abc import Callable, Sequence
from typing import Any

#: What a dataset's answer looks like; a dataset spec picks one with its task, or with
#: ``options["answer_kind"]`` when its task alone does not say (gsm8k/svamp: "math",
#: conala: "code").
ANSWER_KINDS = ("classification", "regression", "math", "generation", "code")

# Everything after one of these is the model talking past its turn.
_END_OF_TURN = re.compile(
    r"<\|im_end\|>|<\|eot_id\|>|<\|endoftext\|>|<\|end\|>|</s>|<end_of_turn>|<eos>"
)
_SPECIAL_TOKEN = re.compile(r"<\|[^|>\s]*\|>|</?s>|\[/?INST\]|<(?:start|end)_of_turn>")
_ROLE_PREFIX = re.compile(r"^\s*(?:assistant|model|bot)\s*(?::|\n)", re.IGNORECASE)
_EDGE_CHARS = string.punctuation + string.whitespace + "“”‘’«»„…"

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])-?\.\d+")
_ARITHMETIC = re.compile(r"^[\d\s.,+\-*/()]+$")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_FENCE = re.compile(r"```(?:[\w+#.-]*[ \t]*\n)?(.*?)(?:```|\Z)", re.DOTALL)


def parse_prediction(text: str, *, task: str, verbalizers: Sequence[str] = ()) -> str | None:
    """The prediction in ``text`` for an answer kind in :data:`ANSWER_KINDS`."""
    if task == "classification":
        return parse_label(text, verbalizers)
    parser = _PARSERS.get(task)
    if parser is None:
        raise ValueError(f"unknown answer kind {task!r}; expected one of {ANSWER_KINDS}")
    return parser(text)


def answer_kind(spec: Any) -> str:
    """The answer kind of a dataset spec: ``options["answer_kind"]`` if set, else its task."""
    return spec.options.get("answer_kind", spec.task)


def parser_for(spec: Any) -> Callable[[str], str | None]:
    """A one-argument parser for a dataset spec's outputs."""
    kind, verbalizers = answer_kind(spec), tuple(spec.verbalizers)
    return lambda text: parse_prediction(text, task=kind, verbalizers=verbalizers)


# --- cleaning -------------------------------------------------------------------------------


def clean_output(text: str) -> str:
    """``text`` cut at the first end-of-turn token, without special tokens or a role prefix."""
    text = _END_OF_TURN.split(text, maxsplit=1)[0]
    text = _SPECIAL_TOKEN.sub(" ", text)
    return _ROLE_PREFIX.sub("", text).strip()


def normalise(text: str, *, lower: bool = True) -> str:
    """Casefolded, single-spaced, without markdown emphasis or surrounding punctuation/quotes.

    Underscores count as spaces, so ``not entailment`` matches the label ``not_entailment``.
    """
    text = text.replace("*", " ").replace("`", " ").replace("_", " ")
    text = " ".join(text.split()).strip(_EDGE_CHARS)
    return text.casefold() if lower else text


# --- classification -------------------------------------------------------------------------


def parse_label(text: str, verbalizers: Sequence[str]) -> str | None:
    """The verbalizer ``text`` answers with, or None.

    An exact match (after :func:`normalise`) wins; otherwise the verbalizer occurring first
    as a whole word, the longer one when two start at the same place. One-character
    verbalizers (``A``-``D``) are searched case-sensitively so the article "a" is no answer.
    """
    if not verbalizers:
        raise ValueError("classification parsing needs the dataset's verbalizers")
    cleaned = clean_output(text)
    folded = normalise(cleaned)
    for verbalizer in verbalizers:
        if folded == normalise(verbalizer):
            return verbalizer
    hits = [(pos, -len(v), i) for i, v in enumerate(verbalizers) if (pos := _find(cleaned, v)) >= 0]
    return verbalizers[min(hits)[2]] if hits else None


def _find(cleaned: str, verbalizer: str) -> int:
    """Position of the first whole-word occurrence of ``verbalizer`` in ``cleaned``, or -1."""
    case_sensitive = len(verbalizer.strip()) == 1
    haystack = normalise(cleaned, lower=not case_sensitive)
    needle = normalise(verbalizer, lower=not case_sensitive)
    if not needle:
        return -1
    match = re.search(rf"(?<![^\W_]){re.escape(needle)}(?![^\W_])", haystack)
    return match.start() if match else -1


# --- numbers --------------------------------------------------------------------------------


def find_numbers(text: str) -> list[float]:
    """Every number written in ``text`` (thousands commas allowed), in order."""
    text = text.replace("−", "-")
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)]


def as_number(text: str) -> float | None:
    """The number that is all of ``text`` (spaces, ``$`` and ``%`` around allowed), or None."""
    text = str(text).strip().strip("$%").strip().replace("−", "-")
    return float(text.replace(",", "")) if _NUMBER.fullmatch(text) else None


def format_number(value: float) -> str:
    """``18.0`` -> ``"18"``; other values as Python writes them."""
    return str(int(value)) if value.is_integer() else repr(value)


def parse_first_number(text: str) -> str | None:
    """The first number in ``text`` (regression, e.g. an STS-B score)."""
    numbers = find_numbers(clean_output(text))
    return format_number(numbers[0]) if numbers else None


def final_answer(text: str) -> float | None:
    """The final numeric answer in ``text``.

    In order: the first number after the last ``####``; the number in the last
    ``\\boxed{}``; the value of the last line's final ``=``-separated segment when it is
    plain arithmetic (an SVAMP-style equation such as ``( 76.0 - 25.0 )``); the last number.
    """
    text = clean_output(str(text))
    if "####" in text:
        numbers = find_numbers(text.rsplit("####", 1)[1])
        return numbers[0] if numbers else None
    boxed = _BOXED.findall(text)
    if boxed and (numbers := find_numbers(boxed[-1])):
        return numbers[-1]
    lines = text.strip().splitlines()
    if lines and (value := evaluate_arithmetic(lines[-1].rsplit("=", 1)[-1])) is not None:
        return value
    numbers = find_numbers(text)
    return numbers[-1] if numbers else None


def parse_final_answer(text: str) -> str | None:
    """:func:`final_answer` as a string prediction (math: gsm8k, svamp)."""
    value = final_answer(text)
    return None if value is None else format_number(value)


def evaluate_arithmetic(expression: str) -> float | None:
    """The value of ``expression`` if it is numbers joined by ``+ - * /`` and brackets."""
    expression = expression.strip().rstrip(".").replace(",", "")
    if not _ARITHMETIC.match(expression) or not re.search(r"\d\s*\)*\s*[-+*/]", expression):
        return None
    try:
        value = _evaluate(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not plain arithmetic")


# --- free text and code ---------------------------------------------------------------------


def parse_text(text: str) -> str | None:
    """The cleaned text itself; None when nothing is left."""
    return clean_output(text) or None


def parse_code(text: str) -> str | None:
    """The code in ``text``: the first fenced block's body when there is a fence, else all."""
    cleaned = clean_output(text)
    fenced = _FENCE.search(cleaned)
    code = fenced.group(1) if fenced else cleaned
    return code.strip("\n").rstrip() or None


_PARSERS: dict[str, Callable[[str], str | None]] = {
    "regression": parse_first_number,
    "math": parse_final_answer,
    "generation": parse_text,
    "code": parse_code,
}
