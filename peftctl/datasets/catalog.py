"""The 27 PEFT-Factory benchmark datasets, one declarative record each.

Instruction texts, hub ids and splits are PEFT-Factory's (``data/dataset_info.json``; arXiv
2512.02764); prompt bodies follow the PEFT-Bench templates. Rows keep the hub's original
columns; PEFT-Factory's own pre-rendered hub copy (``kinit/peft-factory``, ``inputs``/``targets``)
is rendered as it is. Imports nothing heavy: listing reads these records only.
"""

from __future__ import annotations

from typing import Any

from peftctl.specs import DatasetSpec

FORMATTER = "peftctl.datasets.formatting:format_row"
PREPARE = "peftctl.datasets.prepare:"
PF_HUB = "kinit/peft-factory"
GLUE_HUB = "nyu-mll/glue"

GLUE_SPLITS = {"train": "train", "eval": "validation"}
TEST_SPLITS = {"train": "train", "eval": "test", "test": "test"}
CLASSIFY = ("accuracy", "f1")
CODE_METRICS = ("bleu", "rouge_l", "codebleu")
TRUE_FALSE = ("false", "true")
ABCD = ("A", "B", "C", "D")
CODE_INSTRUCTION = (
    "Based on the following instruction, generate a valid Python code that answers it."
)
PAIR = "Respond only with the corresponding class."


def _spec(
    name: str,
    summary: str,
    instruction: str,
    template: str,
    *,
    hub: tuple[str, str | None],
    verbalizers: tuple[str, ...] = (),
    task: str = "classification",
    metrics: tuple[str, ...] = CLASSIFY,
    splits: dict[str, str] = GLUE_SPLITS,
    **options: Any,
) -> DatasetSpec:
    if options.get("prepare"):
        options["prepare"] = PREPARE + options["prepare"]
    return DatasetSpec(
        name=name,
        summary=summary,
        impl=FORMATTER,
        task=task,
        metrics=metrics,
        hub_id=hub[0],
        hub_config=hub[1],
        instruction=instruction,
        verbalizers=verbalizers,
        splits=dict(splits),
        options={"template": template, **options},
    )


GLUE = [
    _spec(
        "mnli",
        "GLUE MultiNLI natural language inference (3 classes)",
        "Classify the following premise and hypothesis pair into entailment, neutral, and "
        f"contradiction classes. {PAIR}",
        "{premise}\n{hypothesis}",
        hub=(GLUE_HUB, "mnli"),
        verbalizers=("entailment", "neutral", "contradiction"),
        splits={"train": "train", "eval": "validation_mismatched", "test": "validation_matched"},
    ),
    _spec(
        "qqp",
        "GLUE Quora question pairs: duplicate or not",
        f"Classify the following question pair into duplicate and not_duplicate classes. {PAIR}",
        "{question1}\n{question2}",
        hub=(GLUE_HUB, "qqp"),
        verbalizers=("not_duplicate", "duplicate"),
    ),
    _spec(
        "qnli",
        "GLUE question-answering NLI: does the sentence answer the question",
        "Classify the following question and sentence pair into entailment and not_entailment "
        f"classes. {PAIR}",
        "{question}\n{sentence}",
        hub=(GLUE_HUB, "qnli"),
        verbalizers=("entailment", "not_entailment"),
    ),
    _spec(
        "sst2",
        "GLUE SST-2 movie-review sentiment",
        f"Classify the following sentence into negative and positive classes. {PAIR}",
        "{sentence}",
        hub=(GLUE_HUB, "sst2"),
        verbalizers=("negative", "positive"),
    ),
    _spec(
        "stsb",
        "GLUE STS-B sentence similarity score 0-5 (regression)",
        "Assign a similarity score from 0 to 5 to the following sentence pair. Respond only "
        "with the corresponding score.",
        "{sentence1}\n{sentence2}",
        hub=(GLUE_HUB, "stsb"),
        task="regression",
        metrics=("pearson", "spearman"),
        label_kind="number",
    ),
    _spec(
        "mrpc",
        "GLUE MRPC paraphrase detection",
        f"Classify the following sentence pair into not_equivalent and equivalent classes. {PAIR}",
        "{sentence1}\n{sentence2}",
        hub=(GLUE_HUB, "mrpc"),
        verbalizers=("not_equivalent", "equivalent"),
        splits={"train": "train", "eval": "validation", "test": "test"},
    ),
    _spec(
        "rte",
        "GLUE RTE textual entailment",
        f"Classify the following sentence pair into entailment and not_entailment classes. {PAIR}",
        "{sentence1}\n{sentence2}",
        hub=(GLUE_HUB, "rte"),
        verbalizers=("entailment", "not_entailment"),
    ),
    _spec(
        "cola",
        "GLUE CoLA grammatical acceptability",
        f"Classify the following sentence into unacceptable and acceptable classes. {PAIR}",
        "{sentence}",
        hub=(GLUE_HUB, "cola"),
        verbalizers=("unacceptable", "acceptable"),
        metrics=("mcc", "accuracy", "f1"),
    ),
]

SUPERGLUE = [
    _spec(
        "record",
        "SuperGLUE ReCoRD: fill the @placeholder with an entity from the passage",
        "Based on the following query, entities, and passage, replace the @placeholder in the "
        "query. Respond only with the correct replacement.",
        "Query: {query}\nEntities: {entities}\nPassage: {passage}",
        hub=(PF_HUB, "record"),
        task="generation",
        metrics=("exact_match",),
        label="answer",
        label_kind="text",
        prepare="record_fields",
    ),
    _spec(
        "multirc",
        "SuperGLUE MultiRC: does the answer answer the question (one example per answer)",
        "Based on the following paragraph, question, and answer, determine whether the answer "
        "answers the question. Respond only with the corresponding true or false.",
        "Paragraph: {paragraph}\nQuestion: {question}\nAnswer: {answer}",
        hub=(PF_HUB, "multirc"),
        verbalizers=TRUE_FALSE,
        prepare="multirc_answers",
    ),
    _spec(
        "boolq",
        "SuperGLUE BoolQ yes/no questions about a passage",
        "Based on the passage, respond to the following question with true or false. Respond "
        "only with the corresponding true or false.",
        "{question}\n{passage}",
        hub=("super_glue", "boolq"),
        verbalizers=TRUE_FALSE,
    ),
    _spec(
        "wic",
        "SuperGLUE WiC: same word sense in both sentences",
        "Based on the context from the following sentence pair, classify the word into true or "
        "false classes, based on its meaning in both of the sentences. Respond only with the "
        "corresponding true or false.",
        "Sentence1: {sentence1}\nSentence2: {sentence2}\nWord: {word}",
        hub=(PF_HUB, "wic"),
        verbalizers=TRUE_FALSE,
    ),
    _spec(
        "wsc",
        "SuperGLUE WSC (wsc.fixed): does the pronoun refer to the noun",
        "Based on the following sentence, determine whether the pronoun marked with * * is "
        "referencing the noun marked with # #. Respond only with the corresponding true or false.",
        "{sentence}",
        hub=(PF_HUB, "wsc"),
        verbalizers=TRUE_FALSE,
        prepare="wsc_fixed",
    ),
    _spec(
        "cb",
        "SuperGLUE CommitmentBank NLI (3 classes)",
        "Classify the following premise and hypothesis pair into entailment, contradiction, and "
        f"neutral classes. {PAIR}",
        "{premise}\n{hypothesis}",
        hub=("super_glue", "cb"),
        verbalizers=("entailment", "contradiction", "neutral"),
    ),
    _spec(
        "copa",
        "SuperGLUE COPA: the plausible cause or effect",
        "Based on the following premise and choice pair, select the plausible alternative from "
        "the choice pair. Respond only with the corresponding choice1 or choice2.",
        "Premise: {premise}\nChoice1: {choice1}\nChoice2: {choice2}",
        hub=(PF_HUB, "copa"),
        verbalizers=("choice1", "choice2"),
    ),
]

_CHOICES4 = "Choices: A:{choices[0]} B:{choices[1]} C:{choices[2]} D:{choices[3]}"
_ABCD_INSTRUCTION = (
    "Based on the question and provided choices, select the right answer. Respond only with the "
    "corresponding choices A, B, C, and D."
)
REASONING = [
    _spec(
        "mmlu",
        "MMLU multiple-choice knowledge questions (57 subjects)",
        _ABCD_INSTRUCTION,
        "Question: {question}\n" + _CHOICES4,
        hub=(PF_HUB, "mmlu"),
        verbalizers=ABCD,
        label="answer",
        splits={"train": "auxiliary_train", "eval": "validation", "test": "test"},
    ),
    _spec(
        "piqa",
        "PIQA physical commonsense: the better of two solutions",
        "Based on the question and provided solutions, select the right solution. Respond only "
        "with the corresponding solution1 or solution2.",
        "Question: {goal}\nSolution1: {sol1}\nSolution2: {sol2}",
        hub=(PF_HUB, "piqa"),
        verbalizers=("solution1", "solution2"),
    ),
    _spec(
        "siqa",
        "Social IQa: social commonsense, three choices",
        "Based on the context, question and provided choices, select the right answer. Respond "
        "only with the corresponding choices A, B, and C.",
        "Context: {context}\nQuestion: {question}\nChoices: A:{answerA} B:{answerB} C:{answerC}",
        hub=(PF_HUB, "siqa"),
        verbalizers=("A", "B", "C"),
        label_kind="one_based",
    ),
    _spec(
        "hellaswag",
        "HellaSwag: the ending that finishes the sentence",
        "Based on the sentence and provided endings, select the correct ending that finishes the "
        "sentence correctly. Respond only with the corresponding ending1, ending2, ending3, and "
        "ending4.",
        "Sentence: {ctx}\nEnding1: {endings[0]} Ending2: {endings[1]} Ending3: {endings[2]} "
        "Ending4: {endings[3]}",
        hub=(PF_HUB, "hellaswag"),
        verbalizers=("ending1", "ending2", "ending3", "ending4"),
    ),
    _spec(
        "winogrande",
        "WinoGrande: which option fills the blank",
        "Based on the sentence and provided options, select the best option that replaces the "
        "'_' character in the sentence. Respond only with the corresponding option1 or option2.",
        "Sentence: {sentence}\nOption1: {option1}\nOption2: {option2}",
        hub=(PF_HUB, "winogrande"),
        verbalizers=("option1", "option2"),
        label="answer",
        label_kind="one_based",
    ),
    _spec(
        "openbookqa",
        "OpenBookQA elementary science, four choices",
        _ABCD_INSTRUCTION,
        "Question: {question_stem}\nChoices: A:{choices[text][0]} B:{choices[text][1]} "
        "C:{choices[text][2]} D:{choices[text][3]}",
        hub=(PF_HUB, "openbookqa"),
        verbalizers=ABCD,
        label="answerKey",
        label_kind="value",
        local_dir="obqa",
        splits={"train": "train", "eval": "validation", "test": "test"},
    ),
    _spec(
        "math_qa",
        "MathQA math word problems, five options",
        "Based on the problem and provided options, select the right answer. Respond only with "
        "the corresponding choices a, b, c, d, and e.",
        "Problem: {Problem}\nOptions: {options}",
        hub=(PF_HUB, "math_qa"),
        verbalizers=("a", "b", "c", "d", "e"),
        label="correct",
        label_kind="value",
        local_dir="mathqa",
        splits={"train": "train", "eval": "validation", "test": "test"},
    ),
]

MATH_INSTRUCTION = "Answer following math question. The answer is always numerical."
MATH_AND_CODE = [
    _spec(
        "gsm8k",
        "GSM8K grade-school math: rationale ending in '#### <answer>'",
        f"{MATH_INSTRUCTION} Mark your final answer with a newline starting with '####'.",
        "{question}",
        hub=("openai/gsm8k", "main"),
        task="generation",
        metrics=("exact_match",),
        splits=TEST_SPLITS,
        label="answer",
        label_kind="text",
        answer="final",
        answer_kind="math",
        prepare="gsm8k_final",
    ),
    _spec(
        "svamp",
        "SVAMP simple math word problems: an equation '(a op b) = c'",
        f"{MATH_INSTRUCTION} Respond only with a single equation with parentheses "
        "(e.g., (1 + 1) = 2).",
        "Question: {question}",
        hub=(PF_HUB, "svamp"),
        task="generation",
        metrics=("exact_match",),
        splits=TEST_SPLITS,
        label="equation",
        label_kind="text",
        answer="Answer",
        answer_kind="math",
        prepare="svamp_equation",
    ),
    _spec(
        "conala",
        "CoNaLa: Python snippet for an intent",
        CODE_INSTRUCTION,
        "{rewritten_intent}",
        hub=("neulab/conala", "curated"),
        task="generation",
        metrics=CODE_METRICS,
        answer_kind="code",
        splits=TEST_SPLITS,
        label="snippet",
        label_kind="text",
        prepare="conala_intent",
    ),
    _spec(
        "codealpacapy",
        "CodeAlpaca (Python subset): code for an instruction",
        CODE_INSTRUCTION,
        "{prompt}",
        hub=("Abzu/CodeAlpacaPython", None),
        task="generation",
        metrics=CODE_METRICS,
        answer_kind="code",
        splits=TEST_SPLITS,
        label="response",
        label_kind="text",
        local_dir="codealpaca_py",
    ),
    _spec(
        "apps",
        "APPS programming problems: a Python solution",
        CODE_INSTRUCTION,
        "{question}",
        hub=(PF_HUB, "apps"),
        task="generation",
        metrics=CODE_METRICS,
        answer_kind="code",
        splits=TEST_SPLITS,
        label="solution",
        label_kind="text",
        prepare="apps_solution",
    ),
]

BUILTIN_DATASETS: list[DatasetSpec] = [*GLUE, *SUPERGLUE, *REASONING, *MATH_AND_CODE]
