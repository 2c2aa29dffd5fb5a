"""Parsing raw generations into predictions: labels, numbers, math answers, code."""

from __future__ import annotations

import pytest

from peftctl.metrics.parsing import (
    answer_kind,
    clean_output,
    evaluate_arithmetic,
    final_answer,
    parse_code,
    parse_final_answer,
    parse_first_number,
    parse_label,
    parse_prediction,
    parse_text,
    parser_for,
)
from peftctl.specs import DatasetSpec

NLI = ("entailment", "not_entailment")
SST2 = ("negative", "positive")
ABCD = ("A", "B", "C", "D")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("positive", "positive"),
        ("  Positive.\n", "positive"),
        ('"negative"', "negative"),
        ("**Positive**", "positive"),
        ("`negative`", "negative"),
        ("positive<|im_end|>\n<|im_start|>user negative", "positive"),
        ("<|im_start|>assistant\nnegative<|im_end|>", "negative"),
        ("assistant: positive", "positive"),
        ("The sentiment is negative, not positive.", "negative"),
        ("Sentiment: positive!!!", "positive"),
        ("positively", None),  # whole words only
        ("non-committal", None),
        ("", None),
        ("I cannot tell.", None),
    ],
)
def test_sst2_labels(text, expected):
    assert parse_label(text, SST2) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not_entailment", "not_entailment"),
        ("NOT_ENTAILMENT", "not_entailment"),
        ("not entailment", "not_entailment"),  # underscore written as a space
        ("The answer is not_entailment.", "not_entailment"),
        ("entailment", "entailment"),
        ("Entailment: the premise supports it", "entailment"),
    ],
)
def test_longer_verbalizer_containing_a_shorter_one_wins(text, expected):
    assert parse_label(text, NLI) == expected
    assert parse_label(text, tuple(reversed(NLI))) == expected  # order does not matter


def test_no_truncation_of_long_labels():
    labels = ("not_equivalent_paraphrase_pair", "not_equivalent_paraphrase_pairs")
    assert parse_label("not_equivalent_paraphrase_pairs", labels) == labels[1]


def test_canonical_verbalizer_is_returned():
    assert parse_label("true", ("False", "True")) == "True"
    assert parse_label("unacceptable", ("unacceptable", "acceptable")) == "unacceptable"
    assert parse_label("it is acceptable", ("unacceptable", "acceptable")) == "acceptable"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("b", "B"), ("(C)", "C"), ("D) Paris", "D"), ("It is a guess: B", "B"), ("a", "A")],
)
def test_single_letter_verbalizers_skip_the_article_a(text, expected):
    assert parse_label(text, ABCD) == expected


def test_classification_needs_verbalizers():
    with pytest.raises(ValueError, match="verbalizers"):
        parse_label("positive", ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.8", "3.8"),
        ("Score: 4 out of 5", "4"),
        ("-0.5", "-0.5"),
        ("about .75", "0.75"),
        ("no idea", None),
    ],
)
def test_regression_takes_the_first_number(text, expected):
    assert parse_first_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She sells 16 - 3 - 4 = 9 eggs for $2 each.\n#### 18", "18"),
        ("#### 1,234", "1234"),
        ("so the total is \\boxed{42} dollars", "42"),
        ("( 76.0 - 25.0 )", "51"),  # an SVAMP equation is evaluated
        ("x = ( 3.0 * 4.0 ) / 2.0", "6"),
        ("76 - 25 = 51", "51"),
        ("He had 5 apples and ate 2, so 3 are left.", "3"),
        ("The answer is -7.", "-7"),
        ("It costs $1,250.50.", "1250.5"),
        ("( 4.0 / 0.0 )", "0"),  # division by zero: not arithmetic, falls back to last number
        ("nothing numeric", None),
        ("#### none", None),
    ],
)
def test_math_final_answer(text, expected):
    assert parse_final_answer(text) == expected


@pytest.mark.parametrize(
    ("expression", "value"),
    [("( 76.0 - 25.0 )", 51.0), ("-3 + 2 * 4", 5.0), ("7", None), ("__import__('os')", None)],
)
def test_evaluate_arithmetic_is_plain_arithmetic_only(expression, value):
    assert evaluate_arithmetic(expression) == value


def test_final_answer_of_a_gold_rationale():
    assert final_answer("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18") == 18


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```python\nx = 1\nprint(x)\n```\nThat prints 1.", "x = 1\nprint(x)"),
        ("```\nos.kill(pid, sig)\n```", "os.kill(pid, sig)"),
        ("```print(1)```", "print(1)"),
        ("```python\nunfinished = True", "unfinished = True"),
        ("sorted(d.items())  ", "sorted(d.items())"),
        ("```python\n```", None),
    ],
)
def test_code_fences_are_stripped(text, expected):
    assert parse_code(text) == expected


def test_generation_keeps_the_text():
    assert parse_text("  A short summary.</s> junk") == "A short summary."
    assert parse_text("<|im_end|>") is None


def test_clean_output_cuts_at_end_of_turn():
    assert clean_output("yes<|eot_id|>more") == "yes"
    assert clean_output("[INST] ok [/INST]") == "ok"


def test_parse_prediction_dispatches_by_kind():
    assert parse_prediction("positive!", task="classification", verbalizers=SST2) == "positive"
    assert parse_prediction("2.5 points", task="regression") == "2.5"
    assert parse_prediction("1 + 1 = 2", task="math") == "2"
    assert parse_prediction("```x```", task="code") == "x"
    with pytest.raises(ValueError, match="unknown answer kind"):
        parse_prediction("x", task="poetry")


def test_dataset_spec_picks_its_parser():
    gsm8k = DatasetSpec(
        name="gsm8k",
        summary="s",
        impl="m:f",
        task="generation",
        metrics=("exact_match",),
        options={"answer_kind": "math"},
    )
    assert answer_kind(gsm8k) == "math"
    assert parser_for(gsm8k)("so #### 7") == "7"
    sst2 = DatasetSpec(
        name="sst2", summary="s", impl="m:f", task="classification", metrics=(), verbalizers=SST2
    )
    assert parser_for(sst2)("Negative.") == "negative"


def test_every_builtin_dataset_has_a_known_answer_kind():
    from peftctl.metrics.parsing import ANSWER_KINDS
    from peftctl.plugin_manager import get_plugins

    kinds = {spec.name: answer_kind(spec) for spec in get_plugins().datasets.all()}
    assert set(kinds.values()) <= set(ANSWER_KINDS)
    assert kinds["gsm8k"] == kinds["svamp"] == "math"
    assert kinds["conala"] == kinds["codealpacapy"] == kinds["apps"] == "code"
    assert kinds["sst2"] == "classification" and kinds["stsb"] == "regression"
