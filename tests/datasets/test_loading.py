"""Loading: the hub path, carving, sampling, row reshaping, user datasets and their errors."""

from __future__ import annotations

import json

import pytest

from peftctl.datasets.config import DatasetConfig
from peftctl.datasets.loading import dataset_spec, load_split
from peftctl.datasets.prepare import multirc_answers, svamp_equation, wsc_fixed
from peftctl.errors import PeftctlError
from peftctl.typed import build
from tests.staged import needs_staged


def test_hub_is_used_when_no_local_copy(tmp_path, fake_hub):
    tables, calls = fake_hub
    tables[("nyu-mll/glue", "sst2", "validation")] = [
        {"sentence": "great film", "label": 1, "idx": 0},
        {"sentence": "dull", "label": 0, "idx": 1},
    ]
    examples = load_split(DatasetConfig(name="sst2", data_dir=str(tmp_path)), "eval")
    assert calls == [("nyu-mll/glue", "sst2", "validation")]
    assert [(e.target, e.label) for e in examples] == [("positive", 1), ("negative", 0)]
    assert examples.origin["source"] == "hub:nyu-mll/glue/sst2"


def test_peft_factory_prerendered_hub_rows(tmp_path, fake_hub):
    tables, _ = fake_hub
    tables[("kinit/peft-factory", "wsc", "validation")] = [
        {"inputs": "# Mark # said * he * would come.", "targets": "True"}
    ]
    (example,) = load_split(DatasetConfig(name="wsc", data_dir=str(tmp_path)), "eval")
    assert example.prompt.endswith("\n# Mark # said * he * would come.")
    assert (example.target, example.label) == ("true", 1)


def test_neither_local_nor_hub_names_both_places(tmp_path, offline_hub):
    with pytest.raises(PeftctlError) as info:  # cola: no sample ships inside peftctl
        load_split(DatasetConfig(name="cola", data_dir=str(tmp_path)), "train")
    assert str(tmp_path / "cola" / "train.jsonl") in str(info.value)
    assert "nyu-mll/glue (cola)" in str(info.value)


@needs_staged("boolq")
def test_missing_train_split_suggests_split_from(offline_hub):
    with pytest.raises(PeftctlError, match="split_from=validation"):
        load_split(DatasetConfig(name="boolq"), "train")


@needs_staged("boolq")
def test_split_from_carves_disjoint_deterministic_parts():
    cfg = DatasetConfig(name="boolq", split_from="validation", split_ratio=0.25)
    train = load_split(cfg, "train", seed=3)
    held = load_split(cfg, "eval", seed=3)
    assert len(train) + len(held) == 3270
    assert not {e.id for e in train} & {e.id for e in held}
    assert [e.id for e in load_split(cfg, "train", seed=3)] == [e.id for e in train]
    assert [e.id for e in load_split(cfg, "train", seed=4)] != [e.id for e in train]
    assert train.origin["carved"] == {
        "from": "validation",
        "ratio_held_out": 0.25,
        "seed": 3,
        "part": "train",
        "rows": len(train),
        "of": 3270,
    }


@needs_staged("sst2")
def test_max_samples_draws_a_seeded_subset_keeping_row_ids():
    cfg = DatasetConfig(name="sst2", max_train_samples=10, max_eval_samples=5)
    train = load_split(cfg, "train")
    assert len(train) == 10 and len(load_split(cfg, "eval")) == 5
    assert train.origin["sampled"] == {"rows": 10, "of": 67349, "seed": 42}
    assert [e.id for e in train] != [str(i) for i in range(10)]  # original row indices


def test_wsc_fixed_normalises_spans_and_marks_them():
    row = {
        "text": "The man lifted the boy. He was heavy.",
        "span1_index": 0,
        "span2_index": 5,
        "span1_text": "the man.",
        "span2_text": "He",
        "label": 0,
    }
    (fixed,) = wsc_fixed(row)
    assert fixed["span1_text"] == "The man"
    assert fixed["sentence"] == "# The man # lifted the boy. * He * was heavy."


@needs_staged("multirc")
def test_multirc_nested_rows_expand_per_answer():
    row = {
        "idx": 7,
        "passage": {
            "text": "P",
            "questions": [
                {"question": "Q1", "idx": 0, "answers": [{"text": "a", "idx": 0, "label": 1}]},
                {
                    "question": "Q2",
                    "idx": 1,
                    "answers": [{"text": "b", "idx": 1, "label": 0}, {"text": "", "idx": 2}],
                },
            ],
        },
    }
    rows = multirc_answers(row)
    assert [(r["question"], r["answer"]) for r in rows] == [("Q1", "a"), ("Q2", "b"), ("Q2", "")]
    assert len(load_split(DatasetConfig(name="multirc"), "eval")) == 4848


@needs_staged("svamp")
def test_svamp_target_is_an_equation_and_answer_the_number():
    (row,) = svamp_equation(
        {"Body": "A b.", "Question": "How many?", "Equation": "( 76.0 - 25.0 )", "Answer": 51.0}
    )
    assert row["equation"] == "(76 - 25) = 51"
    example = load_split(DatasetConfig(name="svamp"), "eval")[0]
    assert example.answer == "51" and example.target.endswith("= 51")
    assert load_split(DatasetConfig(name="gsm8k"), "eval")[0].answer == "18"


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _user(path, **extra):
    data = {"path": str(path), "template": "Review: {text}", "target": "label", **extra}
    return build(DatasetConfig, data, "dataset")


def test_user_jsonl_classification_from_yaml_like_mapping(tmp_path):
    train = _write_jsonl(tmp_path / "reviews.jsonl", [{"text": "good", "label": 1}] * 4)
    cfg = _user(train, verbalizer={0: "bad", 1: "good"}, instruction="Sentiment?")
    assert cfg.name == "reviews" and cfg.resolved_task == "classification"
    examples = load_split(cfg, "train")
    assert examples[0].prompt == "Sentiment?\nReview: good"
    assert (examples[0].target, examples[0].label) == ("good", 1)
    spec = dataset_spec(cfg)
    assert spec.verbalizers == ("bad", "good") and spec.metrics == ("accuracy", "f1")


def test_user_csv_and_parquet(tmp_path):
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("text,answer\nhello,world\n")
    cfg = build(
        DatasetConfig, {"path": str(csv_file), "template": "{text}", "target": "answer"}, "d"
    )
    assert load_split(cfg, "train")[0].target == "world"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["x"], "label": [0]}), tmp_path / "p.parquet")
    cfg = _user(tmp_path / "p.parquet", verbalizer={"0": "no"})
    assert load_split(cfg, "train")[0].target == "no"


def test_user_eval_split_needs_eval_path_or_carving(tmp_path):
    train = _write_jsonl(tmp_path / "t.jsonl", [{"text": str(i), "label": 0} for i in range(10)])
    cfg = _user(train, verbalizer={0: "no"})
    with pytest.raises(PeftctlError, match="no eval split"):
        load_split(cfg, "eval")
    carved = _user(train, verbalizer={0: "no"}, split_from="train", split_ratio=0.3)
    assert len(load_split(carved, "train")) == 7 and len(load_split(carved, "eval")) == 3


@pytest.mark.parametrize(
    ("rows", "extra", "expected"),
    [
        ([{"txt": "a", "label": 0}], {}, r"t\.jsonl: no column 'text' .*first row has: txt, l"),
        ([{"text": "a", "label": 0}, {"text": "b", "label": 7}], {}, r"row 2: field 'label'"),
        ([{"text": "a"}], {}, r"t\.jsonl: no column 'label'"),
        ([{"text": "a", "label": 0}], {"template": "{text} {nope}"}, r"no column 'nope'"),
        ([{"text": "a", "label": 0}, {"txt": "b", "label": 0}], {}, r"row 2: field 'text'"),
    ],
)
def test_user_data_errors_name_file_row_and_field(tmp_path, rows, extra, expected):
    """Columns missing from the first row are caught when the recipe is checked, before any
    model loads; later rows when they are read."""
    path = _write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.raises(PeftctlError, match=expected):
        load_split(_user(path, **{"verbalizer": {0: "no"}, **extra}), "train")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'{"text": "a", "label": 0}\n{"text": "\xff\xfe", "label": 0}\n',
            r"u\.jsonl:2: not UTF-8",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"u\.jsonl:1: not UTF-8 text \(byte 0x89\)"),
    ],
)
def test_a_file_that_is_not_utf8_text_names_its_line(tmp_path, content, expected):
    path = tmp_path / "u.jsonl"
    path.write_bytes(content)
    with pytest.raises(PeftctlError, match=expected):
        load_split(_user(path, verbalizer={0: "no"}), "train")


def test_a_missing_user_file_is_caught_with_the_recipe(tmp_path):
    with pytest.raises(PeftctlError, match=r"dataset\.eval_path=.*nope\.jsonl: no such file"):
        train = _write_jsonl(tmp_path / "t.jsonl", [{"text": "a", "label": 0}])
        _user(train, verbalizer={0: "no"}, eval_path=str(tmp_path / "nope.jsonl"))


def test_user_empty_file_and_bad_config(tmp_path):
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(PeftctlError, match=r"e\.jsonl: the file has no rows"):
        load_split(_user(tmp_path / "e.jsonl"), "train")
    with pytest.raises(PeftctlError, match=r"dataset\.template is required"):
        build(DatasetConfig, {"path": "x.jsonl", "target": "y"}, "dataset")
    with pytest.raises(PeftctlError, match=r"needs dataset\.verbalizer"):
        _user(tmp_path / "e.jsonl", task="classification")
    with pytest.raises(PeftctlError, match=r"dataset\.template needs dataset\.path"):
        build(DatasetConfig, {"template": "{x}"}, "dataset")
    with pytest.raises(PeftctlError, match="split_ratio"):
        build(DatasetConfig, {"split_from": "validation", "split_ratio": 1.0}, "dataset")


def test_user_hub_dataset(fake_hub):
    tables, _ = fake_hub
    tables[("me/qa", None, "validation")] = [{"q": "2+2?", "a": "4"}]
    cfg = build(DatasetConfig, {"path": "me/qa", "template": "{q}", "target": "a"}, "dataset")
    (example,) = load_split(cfg, "eval")
    assert (example.prompt, example.target) == ("2+2?", "4")
    assert dataset_spec(cfg).metrics == ("exact_match",)
