"""A corpus of realistic user mistakes: each is one line on stderr naming the problem, exit
code 2, no traceback, and nothing left behind that blocks the corrected command.

``{tmp}`` is a scratch folder holding the files below, ``{run}`` a trained tiny run and
``{damaged}`` a copy of it whose adapter file is cut in half, ``{tiny}`` a tiny model.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

GOOD = "validate lora_sst2 dataset.path={tmp}/good.jsonl "  # a user file with text, label
# (id, argv, text the error line must hold)
CASES: list[tuple[str, str, str]] = [
    # recipes and overrides
    (
        "unknown-recipe",
        "validate lora_sst",
        "unknown recipe 'lora_sst' (did you mean 'lora_sst2'?)",
    ),
    ("empty-recipe", "validate {tmp}/empty.yaml", "empty.yaml is empty; start from a shipped one"),
    ("yaml-syntax", "validate {tmp}/syntax.yaml", "syntax.yaml:3: expected ',' or ']'"),
    ("recipe-is-a-list", "validate {tmp}/list.yaml", "must be a mapping of sections, not a list"),
    ("override-without-equals", "validate lora_sst2 train.lr", "must look like section.key=value"),
    ("override-empty-key", "validate lora_sst2 =3", "must look like section.key=value"),
    ("unknown-section", "validate lora_sst2 trian.lr=1e-4", "trian"),
    ("unknown-train-key", "validate lora_sst2 train.learning_rate=1e-4", "learning_rate"),
    ("lr-not-a-number", "validate lora_sst2 train.lr=fast", "train.lr"),
    ("negative-rank", "validate lora_sst2 method.r=-4", "method.r"),
    ("zero-batch", "validate lora_sst2 train.batch_size=0", "train.batch_size"),
    ("tiny-cutoff", "validate lora_sst2 dataset.cutoff_len=4", "dataset.cutoff_len"),
    ("zero-train-samples", "validate lora_sst2 dataset.max_train_samples=0", "max_train_samples"),
    ("seed-not-int", "validate lora_sst2 seed=abc", "seed"),
    ("bad-precision", "validate lora_sst2 train.precision=fp8", "train.precision"),
    ("bad-scheduler", "validate lora_sst2 train.scheduler=triangle", "train.scheduler"),
    ("bad-eval-mode", "validate lora_sst2 eval.mode=vote", "eval.mode"),
    ("bad-tracker", "validate lora_sst2 train.report_to=neptune", "train.report_to"),
    ("bad-split-name", "validate lora_sst2 eval.split=holdout", "eval.split"),
    ("unknown-method", "validate lora_sst2 method.name=lorra", "unknown method 'lorra'"),
    ("unknown-dataset", "validate lora_sst2 dataset.name=sst3", "unknown dataset 'sst3'"),
    ("unknown-metric", "validate lora_sst2 dataset.metrics=[acuracy]", "unknown metric 'acuracy'"),
    (
        "rank-on-generation",
        "validate lora_sst2 dataset.name=svamp eval.mode=rank",
        "eval.mode=rank",
    ),
    (
        "patience-needs-eval",
        "validate lora_sst2 train.eval_every=0 train.early_stopping_patience=2",
        "early_stopping_patience",
    ),
    (
        "split-ratio",
        "validate lora_sst2 dataset.split_from=validation dataset.split_ratio=1.5",
        "dataset.split_ratio",
    ),
    (
        "unknown-split-key",
        "validate lora_sst2 'dataset.splits={dev: validation}'",
        "dataset.splits",
    ),
    ("warmup-above-one", "validate lora_sst2 train.warmup_ratio=2", "train.warmup_ratio"),
    ("method-not-mapping", "validate {tmp}/method_str.yaml", "method must be a mapping"),
    ("lora-option-on-ia3", "validate ia3_sst2 method.r=8", "method.r"),
    (
        "target-names-nothing",
        "validate lora_sst2 method.target_modules=[qproj]",
        "'qproj' names no module of smollm2-135m-instruct (llama); its modules are q_proj",
    ),
    (
        "target-on-a-local-model",
        "train lora_sst2 model.name={tiny} output_dir={tmp}/t2 method.target_modules=[q_proj,attn]",
        "'attn' names no module of {tiny}",
    ),
    (
        "ia3-target-names-nothing",
        "validate ia3_sst2 method.target_modules=[k_proj,mlp] method.feedforward_modules=[]",
        "'mlp' names no module",
    ),
    # models
    ("model-dir-missing", "validate lora_sst2 model.name=/no/such/model", "no such directory"),
    ("model-relative-missing", "validate lora_sst2 model.name=./models/mine", "no such directory"),
    ("model-is-a-file", "eval --model {tmp}/empty.yaml --dataset sst2 --limit 2", "is a file"),
    ("model-dir-not-a-model", "eval --model {tmp} --dataset sst2 --limit 2", "cannot be loaded"),
    (
        "validate-dir-not-a-model",
        "validate lora_sst2 model.name={tmp}",
        "model.name={tmp}: this directory holds no config.json, so it is not a model",
    ),
    # your own data
    (
        "data-file-missing",
        "validate lora_sst2 dataset.path={tmp}/nope.jsonl dataset.template=x dataset.target=y",
        "nope.jsonl: no such file",
    ),
    (
        "template-missing",
        GOOD + "dataset.target=label",
        "dataset.template is required",
    ),
    (
        "target-missing",
        GOOD + "dataset.template=T:{text}",
        "dataset.target",
    ),
    (
        "column-missing",
        GOOD + "dataset.template=T:{body} dataset.target=label "
        "'dataset.verbalizer={0: no, 1: yes}'",
        "no column 'body'",
    ),
    (
        "target-column-missing",
        GOOD + "dataset.template=T:{text} dataset.target=stars",
        "no column 'stars'",
    ),
    (
        "template-without-path",
        "validate lora_sst2 dataset.template=T:{text}",
        "dataset.template needs dataset.path",
    ),
    (
        "verbalizer-on-generation",
        GOOD + "dataset.template=T:{text} dataset.target=label dataset.task=generation "
        "'dataset.verbalizer={0: no}'",
        "verbalizer only applies",
    ),
    (
        "classification-no-verbalizer",
        GOOD + "dataset.template=T:{text} dataset.target=label dataset.task=classification",
        "needs dataset.verbalizer",
    ),
    ("data-not-utf8", "show-dataset {tmp}/latin1.yaml", "latin1.jsonl:2: not UTF-8"),
    ("data-binary", "show-dataset {tmp}/binary.yaml", "not UTF-8 text"),
    (  # the default output_dir: no empty runs/ is left behind either
        "train-data-not-utf8",
        "train lora_sst2 model.name={tiny} dataset.path={tmp}/latin1.jsonl "
        "dataset.template=T:{text} dataset.target=label 'dataset.verbalizer={0: no, 1: yes}'",
        "latin1.jsonl:2: not UTF-8",
    ),
    (
        "train-fp16-on-cpu",
        "train lora_sst2 model.name={tiny} train.precision=fp16",
        "train.precision=fp16 does not run on the CPU; use auto, fp32 or bf16",
    ),
    (
        "data-bad-json-row",
        "show-dataset {tmp}/badrow.yaml",
        "badrow.jsonl: row 2 is not valid JSON",
    ),
    ("data-empty-file", "show-dataset {tmp}/emptydata.yaml", "the file has no rows"),
    ("show-unknown-dataset", "show-dataset sst3", "unknown dataset 'sst3'"),
    ("show-bad-split", "show-dataset sst2 --split dev2", "--split"),
    ("show-definition-missing", "show-dataset {tmp}/nothere.yaml", "nothere.yaml: no such file"),
    # training and its output folder
    ("resume-and-overwrite", "train lora_sst2 --resume --overwrite", "exclude each other"),
    ("output-dir-is-file", "train lora_sst2 output_dir={tmp}/empty.yaml", "is a file"),
    (
        "output-dir-unwritable",
        "train lora_sst2 model.name={tiny} output_dir=/proc/peftctl/run",
        "cannot write there",
    ),
    ("output-dir-has-results", "train lora_sst2 output_dir={run}", "already holds results"),
    (
        "resume-without-checkpoint",
        "train lora_sst2 output_dir={tmp}/fresh --resume",
        "no checkpoint",
    ),
    (
        "tracker-not-installed",
        "train lora_sst2 model.name={tiny} output_dir={tmp}/t train.report_to=wandb",
        "wandb",
    ),
    # evaluating, merging
    ("eval-nothing", "eval", "nothing to evaluate"),
    ("eval-run-and-model", "eval {run} --model {tiny}", "RUN_DIR brings its own"),
    ("eval-not-a-run", "eval {tmp}", "{tmp}"),
    (
        "eval-damaged-adapter",
        "eval {damaged} --limit 2",
        "adapter_model.safetensors is damaged or truncated",
    ),
    ("eval-bad-split", "eval {run} --split holdout", "holdout"),
    ("eval-output-is-a-file", "eval {run} -o {tmp}/good.jsonl", "good.jsonl is a file; give a"),
    (
        "eval-model-output-is-a-file",
        "eval --model {tiny} --dataset sst2 --limit 2 -o {tmp}/good.jsonl",
        "good.jsonl is a file; give a directory",
    ),
    (
        "eval-limit-zero",
        "eval {run} --limit 0",
        "'--limit' / '-n': Input should be greater than or equal to 1",
    ),
    (
        "merge-damaged-adapter",
        "merge {damaged} {tmp}/merged",
        "adapter_model.safetensors is damaged or truncated",
    ),
    ("merge-not-a-run", "merge {tmp} {tmp}/merged", "{tmp}"),
    ("merge-into-existing", "merge {run} {run}", "{run}"),
    (
        "merge-weights-count",
        "merge {run} {run} {tmp}/m2 --weights 0.5",
        "--weights has 1 values for 2 runs",
    ),
    (
        "merge-bad-combination",
        "merge {run} {run} {tmp}/m2 --combination avg",
        "--combination must be one of linear",
    ),
    # export, generate, chat
    ("export-bad-format", "export {run} --format onnx", "--format must be one of gguf"),
    ("export-bad-quant", "export {run} --quant q4", "--quant for --format gguf must be one of"),
    ("export-not-a-run", "export {tmp} --format gguf", "{tmp} is not a run directory"),
    (
        "export-onto-a-file",
        "export {run} -o {tmp}/empty.yaml",
        "empty.yaml exists; pass --overwrite",
    ),
    (
        "export-damaged",
        "export {damaged} --format gguf-lora -o {tmp}/x.gguf",
        "adapter_model.safetensors is damaged",
    ),
    ("generate-no-prompt", "generate {run}", "Missing option '--prompt'"),
    (
        "generate-missing-model",
        "generate --model /no/such --prompt hi",
        "/no/such: no such directory",
    ),
    ("generate-zero-tokens", "generate {run} --prompt hi --max-new-tokens 0", "'--max-new-tokens'"),
    (
        "generate-run-and-model",
        "generate {run} --model {tiny} --prompt hi",
        "RUN_DIR brings its own model",
    ),
    ("chat-not-a-run", "chat {tmp}", "{tmp} is not a run directory"),
    # recipes, bench, scaffold, ui
    ("cp-unknown", "recipes cp lora_sst {tmp}/x.yaml", "unknown recipe 'lora_sst'"),
    ("cp-exists", "recipes cp lora_sst2 {tmp}/empty.yaml", "exists; pass --force"),
    ("cp-no-folder", "recipes cp lora_sst2 {tmp}/no/such/x.yaml", "does not exist"),
    ("bench-unknown-spec", "bench validate quik", "quik"),
    ("bench-bad-spec", "bench validate {tmp}/bench.yaml", "bench.yaml"),
    ("bench-status-not-a-bench", "bench status {tmp}", "{tmp}"),
    ("bench-jobs-zero", "bench run quick --jobs 0", "--jobs"),
    ("new-method-bad-name", "new-method Bad-Name --dir {tmp}/new", "Bad-Name"),
    ("list-bad-category", "list-methods --category magic", "magic"),
    ("unknown-command", "trian lora_sst2", "No such command 'trian'. Did you mean 'train'?"),
    ("unknown-option", "train lora_sst2 --overwrtie", "No such option: --overwrtie"),
]


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory, tiny_model_dir) -> dict[str, str]:
    """The scratch folder, a trained tiny run and a damaged copy of it."""
    from peftctl.config.recipe import load_recipe
    from peftctl.training.run import run_training
    from tests.conftest import _reset_accelerate

    _reset_accelerate()  # a module fixture runs before the tests' own reset
    tmp = tmp_path_factory.mktemp("mistakes")
    _write_files(tmp)
    run = tmp_path_factory.mktemp("runs") / "run"
    config = load_recipe(
        "lora_sst2",
        [
            f"model.name={tiny_model_dir}",
            f"output_dir={run}",
            "dataset.max_train_samples=16",
            "dataset.max_eval_samples=8",
            "dataset.cutoff_len=64",
            "train.batch_size=4",
            "train.max_steps=2",
            "eval.after_train=false",
        ],
    )
    run_training(config, quiet=True)
    damaged = run.parent / "damaged"
    shutil.copytree(run, damaged)
    weights = damaged / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    return {"tmp": str(tmp), "run": str(run), "damaged": str(damaged), "tiny": tiny_model_dir}


def _write_files(tmp: Path) -> None:
    rows = [{"text": "good", "label": 1}, {"text": "bad", "label": 0}]
    (tmp / "good.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "latin1.jsonl").write_bytes(
        b'{"text": "ok", "label": 1}\n{"text": "caf\xe9", "label": 0}\n'
    )
    (tmp / "binary.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp / "badrow.jsonl").write_text('{"text": "a", "label": 1}\n{"text": "b", label: 0}\n')
    (tmp / "emptydata.jsonl").write_text("")
    for name in ("latin1", "binary", "badrow", "emptydata"):
        (tmp / f"{name}.yaml").write_text(
            f"path: {name}.jsonl\ntemplate: 'T: {{text}}'\ntarget: label\n"
            "verbalizer: {0: no, 1: yes}\nsplit_from: train\nsplit_ratio: 0.5\n"
        )
    (tmp / "empty.yaml").write_text("")
    (tmp / "syntax.yaml").write_text("train:\n  lr: [1e-4\n")
    (tmp / "list.yaml").write_text("- lora\n- sst2\n")
    (tmp / "method_str.yaml").write_text("method: lora\n")
    (tmp / "bench.yaml").write_text("methods: [lora]\ndatasets: [sst2]\nseeds: [0, abc]\n")


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_mistake_is_one_line_and_exit_code_2(argv, expected, corpus_files, cli, monkeypatch):
    monkeypatch.chdir(corpus_files["tmp"])
    before = _listing(Path(corpus_files["tmp"]))
    code, _, err = cli(*[_fill(part, corpus_files) for part in shlex.split(argv)])
    message = err.strip()
    assert code == 2, err
    assert "Traceback" not in err and len(message.splitlines()) == 1, err
    assert message.startswith("error: ") and _fill(expected, corpus_files) in message
    assert _listing(Path(corpus_files["tmp"])) == before  # nothing left behind


def _fill(text: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        text = text.replace(f"{{{key}}}", value)
    return text


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_docs_errors_lists_every_case():
    listed = (Path(__file__).parents[2] / "docs" / "errors.md").read_text()
    assert [c[0] for c in CASES if f"| `{c[0]}` |" not in listed] == []


@pytest.mark.parametrize(("lr", "expect"), [("7e3", "divergence"), ("3e-9", "no learning")])
def test_an_implausible_lr_is_a_warning_and_validate_still_passes(cli, lr, expect):
    code, out, err = cli("validate", "lora_sst2", f"train.lr={lr}")
    assert code == 0 and out.startswith("ok: ")
    assert err == (
        f"warning: train.lr={float(lr):g} is outside 1e-06..0.1, where lora's optimiser "
        f"trains; expect {expect}\n"
    )
