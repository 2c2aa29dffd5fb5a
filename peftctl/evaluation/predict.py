"""Examples -> predictions, in generate mode (greedy answer, parsed) or rank mode (the most
likely verbalizer). Prompts are tokenised exactly as training tokenises them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from peftctl.errors import PeftctlError
from peftctl.metrics.parsing import answer_kind, parser_for

MODES = ("generate", "rank")
#: Tokens allowed past the longest verbalizer (an answer such as "Sentiment: positive").
LABEL_MARGIN = 8
#: max_new_tokens by answer kind when the recipe leaves it at 0.
MAX_NEW_TOKENS = {"regression": 16, "math": 512, "code": 512, "generation": 256}


@dataclass(frozen=True)
class Prediction:
    """One scored example, as ``predictions.jsonl`` holds it."""

    id: str
    prompt: str
    gold: str
    output: str  # the raw generated text, or the winning verbalizer in rank mode
    prediction: str | None  # parsed answer; None = unparseable (counted wrong)
    correct: bool | None  # None where a task has no per-example notion (regression, code)
    scores: list[float] | None = None  # rank mode: log-likelihood per verbalizer


def gold_answer(example: Any) -> str:
    """What an example is scored against: the final answer (math) or the target."""
    return example.answer if example.answer is not None else example.target


def predict(
    model: Any,
    method: Any,
    tokenizer: Any,
    examples: Sequence[Any],
    spec: Any,
    *,
    mode: str,
    batch_size: int,
    max_new_tokens: int = 0,
    length_normalise: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> list[Prediction]:
    """Predictions for ``examples`` of dataset ``spec`` by ``model`` (adapted by ``method``,
    or None for a bare base model)."""
    from peftctl.datasets.tokenize import encode_prompts

    check_mode(spec, mode)
    prompts = encode_prompts(tokenizer, [ex.prompt for ex in examples])
    if mode == "rank":
        return _ranked(
            model,
            method,
            tokenizer,
            examples,
            spec,
            prompts,
            batch_size,
            length_normalise,
            on_batch,
        )
    limit = max_new_tokens or default_max_new_tokens(spec, tokenizer)
    return _generated(
        model, method, tokenizer, examples, spec, prompts, batch_size, limit, on_batch
    )


def check_mode(spec: Any, mode: str) -> None:
    """One-line error for a mode the dataset cannot be scored in (before any model loads)."""
    if mode not in MODES:
        raise PeftctlError(f"eval mode must be one of {', '.join(MODES)}, not '{mode}'")
    if mode == "rank" and (answer_kind(spec) != "classification" or not spec.verbalizers):
        raise PeftctlError(
            f"eval mode rank needs a classification dataset with verbalizers; '{spec.name}' is "
            f"{answer_kind(spec)}: use eval.mode=generate"
        )


def default_max_new_tokens(spec: Any, tokenizer: Any) -> int:
    """Short for labels (the longest verbalizer + a margin), long for math and code."""
    kind = answer_kind(spec)
    if kind == "classification":
        from peftctl.datasets.tokenize import encode_responses

        return max(len(ids) for ids in encode_responses(tokenizer, spec.verbalizers)) + LABEL_MARGIN
    return MAX_NEW_TOKENS[kind]


def _generated(model, method, tokenizer, examples, spec, prompts, batch_size, limit, on_batch):
    from peftctl.evaluation.generation import generate

    outputs = generate(
        model,
        prompts,
        max_new_tokens=limit,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        batch_size=batch_size,
        model_kwargs=method.generation_kwargs if method is not None else None,
        same_length=method is not None and method.changes_sequence,
        on_batch=on_batch,
    )
    texts = tokenizer.batch_decode(outputs, skip_special_tokens=False)
    parse, judge = parser_for(spec), _judge(spec)
    predictions = []
    for example, text in zip(examples, texts, strict=True):
        gold, parsed = gold_answer(example), parse(text)
        predictions.append(
            Prediction(example.id, example.prompt, gold, text, parsed, judge(parsed, gold))
        )
    return predictions


def _ranked(model, method, tokenizer, examples, spec, prompts, batch_size, normalise, on_batch):
    from peftctl.datasets.tokenize import encode_responses
    from peftctl.evaluation.ranking import rank

    states = None
    if method is not None and method.changes_sequence:
        states = partial(method.hidden_states, model)
    scores = rank(
        model,
        prompts,
        encode_responses(tokenizer, spec.verbalizers),  # the very tokens training taught
        pad_token_id=tokenizer.pad_token_id,
        batch_size=batch_size,
        length_normalise=normalise,
        hidden_states=states,
        on_batch=on_batch,
    )
    predictions = []
    for example, row in zip(examples, scores, strict=True):
        best = spec.verbalizers[max(range(len(row)), key=row.__getitem__)]
        gold = gold_answer(example)
        predictions.append(
            Prediction(example.id, example.prompt, gold, best, best, best == gold, row)
        )
    return predictions


def _judge(spec: Any) -> Callable[[str | None, str], bool | None]:
    """Per-example correctness: label equality, numeric/text match, or None (no such notion)."""
    from peftctl.metrics.matching import matches

    kind = answer_kind(spec)
    if kind == "classification":
        return lambda parsed, gold: parsed == gold
    if kind in ("math", "generation"):
        return matches
    return lambda parsed, gold: None
