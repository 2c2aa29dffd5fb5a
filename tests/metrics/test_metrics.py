"""Each built-in metric against cases computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import sys

import pytest

from peftctl.errors import PeftctlError
from peftctl.metrics.classification import accuracy, describe_f1, f1, f1_macro, mcc
from peftctl.metrics.code import codebleu
from peftctl.metrics.matching import exact_match, gold_number, matches
from peftctl.metrics.regression import pearson, spearman
from peftctl.metrics.text import bleu, rouge_l

SST2 = ("negative", "positive")
PREDS = ["positive", "negative", None, "positive"]
GOLDS = ["positive", "positive", "negative", "positive"]


def test_accuracy_counts_invalid_as_wrong():
    assert accuracy(PREDS, GOLDS, labels=SST2) == 0.5  # 2 of 4
    assert accuracy([], []) == 0.0


def test_binary_f1_uses_the_second_verbalizer_as_positive():
    # positive: TP 2, FP 0, FN 1 -> P 1, R 2/3 -> F1 = 2 * (2/3) / (5/3) = 0.8
    assert f1(PREDS, GOLDS, labels=SST2) == pytest.approx(0.8)
    # the same predictions with "negative" as positive: TP 0 -> 0
    assert f1(PREDS, GOLDS, labels=("positive", "negative")) == 0.0
    assert describe_f1(SST2) == "binary F1, positive label 'positive'"


def test_macro_f1_for_three_classes():
    # a: P 1, R 1/2 -> 2/3; b: P 1/2, R 1 -> 2/3; c: TP 0 -> 0; mean = 4/9
    preds, golds = ["a", "b", "b", None], ["a", "a", "b", "c"]
    assert f1(preds, golds, labels=("a", "b", "c")) == pytest.approx(4 / 9)
    assert f1_macro(preds, golds, labels=("a", "b", "c")) == pytest.approx(4 / 9)
    assert describe_f1(("a", "b", "c")).startswith("macro F1")


def test_macro_f1_on_binary_labels_averages_both_classes():
    # negative: TP 0 -> 0; positive: 0.8 -> mean 0.4
    assert f1_macro(PREDS, GOLDS, labels=SST2) == pytest.approx(0.4)


def test_macro_f1_ignores_classes_absent_from_both_sides():
    assert f1_macro(["a", "b"], ["a", "b"], labels=("a", "b", "c")) == 1.0


def test_mcc():
    # TP 1, TN 2, FP 0, FN 1 -> (1*2 - 0*1) / sqrt(1 * 2 * 2 * 3) = 2 / sqrt(12)
    preds = ["positive", "negative", "negative", "negative"]
    golds = ["positive", "positive", "negative", "negative"]
    assert mcc(preds, golds, labels=SST2) == pytest.approx(2 / 12**0.5)


def test_pearson_and_spearman():
    # deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5): cov 4, variances 5 -> 0.8
    assert pearson(["1", "2", "3", "4"], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman(["1", "2", "3", "4"], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [1, 4, 9]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [1, 4, 9]) < 0.99
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_invalid_regression_prediction_is_the_gold_mean():
    # [None, 2, 3] -> [2, 2, 3] vs [1, 2, 3]: cov 1, var 2/3 and 2 -> 1/sqrt(4/3) = sqrt(3)/2
    assert pearson([None, "2", "3"], ["1", "2", "3"]) == pytest.approx(3**0.5 / 2)


def test_undefined_correlation_is_zero():
    assert pearson([2, 2, 2], [1, 2, 3]) == 0.0
    assert spearman([None], [1.0]) == 0.0


def test_exact_match_numeric_against_gold():
    preds = ["18", "17.0", None, "51", "50"]
    golds = ["rationale\n#### 18", 17, 3, "( 76.0 - 25.0 )", 51.0]
    assert exact_match(preds, golds) == pytest.approx(3 / 5)


def test_numeric_match_tolerates_float_noise_only():
    assert matches("10.000000000000002", "10")
    assert matches("The answer is 1,000.", "1000")
    assert not matches("10.01", "10")
    assert gold_number("#### 7") == 7.0
    assert gold_number("Paris") is None


def test_exact_match_text_is_normalised():
    assert exact_match(
        ["Paris", "the Louvre", "Not_Entailment"], ["paris.", "Louvre", "not entailment"]
    ) == pytest.approx(2 / 3)


def test_bleu_by_hand():
    # clipped n-gram precisions 5/6, 3/5, 2/4, 1/3, equal lengths -> (1/12) ** (1/4)
    score = bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert score == pytest.approx((1 / 12) ** 0.25)
    assert bleu(["the very same text here"], ["the very same text here"]) == pytest.approx(1.0)
    assert bleu([None], ["anything at all"]) == 0.0


def test_rouge_l_by_hand():
    # LCS "the cat sat on mat" = 5 of 6 tokens on both sides -> F = 5/6
    assert rouge_l(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(5 / 6)
    assert rouge_l([None, "a b"], ["x y", "a b"]) == pytest.approx(0.5)


def test_codebleu_or_a_clear_install_error(monkeypatch):
    code = "def add(a, b):\n    total = a + b\n    return total\n"
    try:
        import codebleu as _  # noqa: F401
    except ImportError:
        with pytest.raises(PeftctlError, match="install"):
            codebleu([code], [code])
    else:
        assert codebleu([code], [code]) == pytest.approx(1.0)
        assert codebleu(["x = 1"], [code]) < 0.5
    monkeypatch.setitem(sys.modules, "codebleu", None)  # as if not installed
    with pytest.raises(PeftctlError, match=r"pip install 'peftctl\[code\]'"):
        codebleu([code], [code])
