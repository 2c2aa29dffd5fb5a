"""Row reshaping for the datasets whose original columns do not fit a plain template.

Each function takes one row as stored (local JSONL or the hub's original columns) and returns
the rows to render; rows already in PEFT-Factory's pre-rendered form pass through unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

Row = dict[str, Any]

_UNSPLITTABLE = ("Kamenev and Zinoviev", "Kamenev, Zinoviev, and Stalin")


def wsc_fixed(row: Row) -> list[Row]:
    """SuperGLUE WSC as HF ``wsc.fixed`` (``_fix_wst`` span fixes), spans marked in ``sentence``.

    The noun (span1) is wrapped in ``# #``, the pronoun (span2) in ``* *``.
    """
    if "inputs" in row:
        return [row]
    row = dict(row)
    for span in ("span1", "span2"):
        row[f"{span}_text"] = _fix_span_text(row, span)
    row["sentence"] = _mark_spans(row)
    return [row]


def _fix_span_text(row: Row, span: str) -> str:
    """HF super_glue ``_fix_wst`` for one span: first-letter case, trailing '.', newlines."""
    text, index = row[f"{span}_text"], row[f"{span}_index"]
    if text in row["text"] or text in _UNSPLITTABLE:
        return text
    first_word = row["text"].split()[index]
    text = (text[0].lower() if first_word[0].islower() else text[0].upper()) + text[1:]
    return text.rstrip(".").replace("\n", " ")


def _mark_spans(row: Row) -> str:
    words = row["text"].split()
    marks = {
        row["span1_index"]: ("#", row["span1_text"]),
        row["span2_index"]: ("*", row["span2_text"]),
    }
    out: list[str] = []
    index = 0
    while index < len(words):
        if index in marks:
            mark, text = marks[index]
            length = max(1, len(text.split()))
            out.append(f"{mark} {' '.join(words[index : index + length])} {mark}")
            index += length
        else:
            out.append(words[index])
            index += 1
    return " ".join(out)


def multirc_answers(row: Row) -> list[Row]:
    """Original nested MultiRC (one row per paragraph) -> HF's one row per answer."""
    if "passage" not in row or not isinstance(row["passage"], dict):
        return [row]
    paragraph = row["passage"]["text"]
    return [
        {
            "paragraph": paragraph,
            "question": question["question"],
            "answer": answer["text"],
            "idx": {"paragraph": row["idx"], "question": question["idx"], "answer": answer["idx"]},
            "label": answer.get("label"),
        }
        for question in row["passage"]["questions"]
        for answer in question["answers"]
    ]


def svamp_equation(row: Row) -> list[Row]:
    """SVAMP: ``question`` = body + question, ``equation`` = ``(a op b) = c`` as the target."""
    if "inputs" in row:
        return [row]
    row = dict(row)
    row["question"] = f"{row['Body'].strip()} {row['Question'].strip()}".strip()
    equation = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", str(row["Equation"]).strip()))
    row["equation"] = f"{_numbers(equation)} = {_numbers(str(row['Answer']))}"
    return [row]


def conala_intent(row: Row) -> list[Row]:
    """CoNaLa: the rewritten intent, or the original one where it was never rewritten."""
    if not row.get("rewritten_intent"):
        row = {**row, "rewritten_intent": row.get("intent")}
    return [row]


def _numbers(text: str) -> str:
    """``76.0`` -> ``76`` inside ``text``."""
    return re.sub(r"\d+\.\d+", lambda m: _plain(float(m.group())), text)


def _plain(number: float) -> str:
    return str(int(number)) if number.is_integer() else f"{number:.6f}".rstrip("0").rstrip(".")


def gsm8k_final(row: Row) -> list[Row]:
    """GSM8K: ``final`` = the number after ``####`` (what exact match compares)."""
    if "answer" in row:
        row = {**row, "final": str(row["answer"]).split("####")[-1].strip().replace(",", "")}
    return [row]


def record_fields(row: Row) -> list[Row]:
    """ReCoRD (HF super_glue columns): entities as a list, the first gold answer as target."""
    if "inputs" in row:
        return [row]
    answers = row.get("answers") or [""]
    entities = row.get("entities", [])
    return [{**row, "entities": ", ".join(entities), "answer": answers[0]}]


def apps_solution(row: Row) -> list[Row]:
    """APPS (codeparrot/apps columns): the first reference solution as the target."""
    if "inputs" in row or "solutions" not in row:
        return [row]
    solutions = row["solutions"]
    if isinstance(solutions, str):
        solutions = json.loads(solutions) if solutions.strip() else []
    return [{**row, "solution": solutions[0] if solutions else ""}]
