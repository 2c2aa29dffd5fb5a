"""`peftctl bench run` end to end on a tiny model: cells are ordinary run directories, a failed
cell is recorded and retried, finished cells are skipped, an interrupted cell resumes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from peftctl.bench.executors import available_cores
from peftctl.bench.store import BenchDir, cell_records, set_state


def write_spec(folder: Path, model: str, **changes) -> Path:
    spec = {
        "model": model,
        "methods": [
            "lora",
            {"name": "ia3", "lr": [1e-3, 3e-2]},
            {"name": "lora", "label": "lora-broken", "target_modules": ["input_layernorm"]},
        ],
        "datasets": ["sst2"],
        "seeds": [0],
        "budget": {"max_steps": 2},
        "train": {"batch_size": 4, "save_every": 1},
        "dataset": {"max_train_samples": 8, "max_eval_samples": 8, "cutoff_len": 64},
        "eval": {"mode": "rank", "batch_size": 8},
        **changes,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def in_process(cli, *args: str) -> subprocess.CompletedProcess:
    """``peftctl bench *args`` in this process (the cells still run in workers)."""
    code, out, err = cli("bench", *args)
    return subprocess.CompletedProcess(["peftctl", "bench", *args], code, out, err)


def bench(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "peftctl", "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ})


@pytest.fixture(scope="module")
def finished_bench(tmp_path_factory, tiny_model_dir):
    """A bench of 4 cells (one broken) run once; (spec path, bench dir, first run)."""
    folder = tmp_path_factory.mktemp("bench")
    spec = write_spec(folder, tiny_model_dir)
    out = folder / "out"
    first = bench("run", str(spec), "-o", str(out), "-q", "--jobs", "2")
    return spec, out, first


def by_label(out: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for record in cell_records(BenchDir(out)):
        found.setdefault(record["label"], []).append(record)
    return found


def test_a_failed_cell_is_recorded_and_the_others_finish(finished_bench):
    _, out, first = finished_bench
    assert first.returncode == 1, first.stderr
    assert "1 cells failed" in first.stderr and "bench status" in first.stderr
    assert "done: 3 finished, 1 failed, 0 already done" in first.stdout
    cells = by_label(out)
    (broken,) = cells["lora-broken"]
    assert broken["status"] == "failed"
    assert "LlamaRMSNorm" in broken["error"] and "\n" not in broken["error"]
    assert [r["status"] for r in cells["lora"] + cells["ia3"]] == ["finished"] * 3


def test_each_cell_is_an_ordinary_run_directory(finished_bench):
    _, out, _ = finished_bench
    for record in by_label(out)["ia3"]:
        run = Path(record["run_dir"])
        for name in ("recipe.yaml", "run.json", "metrics.json", "predictions.jsonl", "adapter"):
            assert (run / name).exists(), name
        assert record["trainable_params"] > 0 and record["adapter_bytes"] > 0
        assert record["steps"] == 2 and record["test_is_eval"] is True
        assert record["eval"]["examples"] == 8 and record["primary_metric"] == "accuracy"
        assert set(record["forgetting"]) >= {"base_loss", "adapted_loss", "increase", "text"}
        assert record["pscp"] is not None and record["peak_rss_bytes"] > 0
        assert record["hardware"]["threads"] == max(available_cores() // 2, 1)  # --jobs 2
        recipe = yaml.safe_load((run / "recipe.yaml").read_text())
        assert recipe["train"]["lr"] == record["lr"] and recipe["seed"] == 0


def test_results_csv_has_a_row_per_cell_and_the_lr_choice(finished_bench):
    _, out, _ = finished_bench
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["label"] for r in rows) == ["ia3", "ia3", "lora", "lora-broken"]
    ia3 = [r for r in rows if r["label"] == "ia3"]
    best = max(ia3, key=lambda r: (float(r["eval_primary"]), -float(r["lr"])))
    assert [r["selected"] for r in ia3].count("True") == 1
    assert next(r for r in ia3 if r["selected"] == "True")["lr"] == best["lr"]
    assert (out / "summary.md").is_file() and (out / "table.tex").is_file()


def test_status_lists_every_cell(finished_bench, cli):
    _, out, _ = finished_bench
    code, text, _ = cli("bench", "status", str(out), "--json")
    rows = json.loads(text)
    assert code == 0 and len(rows) == 4
    assert sorted(r["status"] for r in rows) == ["failed", "finished", "finished", "finished"]


def test_a_second_run_retries_only_the_failed_cell(finished_bench, cli):
    spec, out, _ = finished_bench
    before = {r["name"]: BenchDir(out).read_state(r["name"]) for r in cell_records(BenchDir(out))}
    second = in_process(cli, "run", str(spec), "-o", str(out), "-q")
    assert second.returncode == 1
    assert "done: 0 finished, 1 failed, 3 already done" in second.stdout
    for name, state in before.items():
        after = BenchDir(out).read_state(name)
        expected = state["attempts"] + (1 if "broken" in name else 0)
        assert after["attempts"] == expected, name


def test_an_interrupted_cell_resumes_from_its_checkpoint(finished_bench, cli):
    spec, out, _ = finished_bench
    store = BenchDir(out)
    (lora,) = by_label(out)["lora"]
    run = Path(lora["run_dir"])
    for name in ("run.json", "metrics.json", "result.json"):
        (run / name).unlink()
    for path in ["adapter", "checkpoints/step-00000002"]:
        subprocess.run(["rm", "-rf", str(run / path)], check=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    set_state(store.state_path(lora["name"]), status="running", pid=int(dead))
    assert store.status(lora["name"]) == "interrupted"
    spec_only_lora = ["methods=[lora]"]
    third = in_process(cli, "run", str(spec), *spec_only_lora, "-o", str(out), "-q")
    assert third.returncode == 0, third.stderr
    assert "done: 1 finished, 0 failed, 0 already done" in third.stdout
    card = json.loads((run / "run.json").read_text())
    assert card["resumed_from"].endswith("step-00000001")
    assert card["training"]["steps"] == 2 and (run / "result.json").is_file()
    again = in_process(cli, "run", str(spec), *spec_only_lora, "-o", str(out), "-q")
    assert again.returncode == 0 and "done: 0 finished, 0 failed, 1 already done" in again.stdout


def test_a_finished_cell_asked_for_one_more_mode_is_scored_not_retrained(finished_bench, cli):
    spec, out, _ = finished_bench
    (before,) = by_label(out)["lora"]
    log = Path(before["run_dir"]) / "log.jsonl"
    trained = log.read_text()
    both = ["methods=[lora]", "eval.mode=[rank,generate]"]
    again = in_process(cli, "run", str(spec), *both, "-o", str(out), "-q")
    assert again.returncode == 0, again.stderr
    assert "done: 1 finished, 0 failed, 0 already done" in again.stdout
    (after,) = by_label(out)["lora"]
    assert log.read_text() == trained and after["eval"] == before["eval"]  # not retrained
    generate = after["mode_scores"]["generate"]
    assert generate["eval"]["mode"] == "generate" and generate["eval"]["examples"] == 8
    assert (Path(after["run_dir"]) / "modes" / "generate" / "metrics.json").is_file()
    assert after["forgetting"] == before["forgetting"]
    assert after["cell_seconds"] > before["cell_seconds"]
    with (out / "summary.csv").open() as handle:
        rows = [(row["label"], row["dataset"]) for row in csv.DictReader(handle)]
    assert ("lora", "sst2 (rank)") in rows and ("lora", "sst2 (generate)") in rows, rows
    last = in_process(cli, "run", str(spec), *both, "-o", str(out), "-q")
    assert "done: 0 finished, 0 failed, 1 already done" in last.stdout


def test_deploy_measures_a_finished_cell_without_retraining(finished_bench, cli):
    """``deploy=true``: size, merge, GGUF q8_0 read back and latency on the first seed's
    cells; the merged model scores as the adapter (fp32 merge of a tiny LoRA)."""
    spec, out, _ = finished_bench
    (before,) = by_label(out)["lora"]
    run = Path(before["run_dir"])
    trained = (run / "log.jsonl").read_text()
    again = in_process(cli, "run", str(spec), "methods=[lora]", "deploy=true", "-o", str(out), "-q")
    assert again.returncode == 0, again.stderr
    (after,) = by_label(out)["lora"]
    assert (run / "log.jsonl").read_text() == trained and after["test"] == before["test"]
    deploy = after["deployability"]
    assert deploy["mergeable"] is True and deploy["adapter_bytes"] == before["adapter_bytes"]
    own = after["test"]["metrics"]["accuracy"]
    exact = after["precision"] == "fp32"  # in bf16 one of the 8 answers may flip
    assert deploy["merged_score"] == pytest.approx(own, abs=1e-9 if exact else 0.126)
    assert deploy["gguf_q8_0_score"] is not None and deploy["gguf_q8_0_bytes"] > 0
    assert deploy["ms_per_token"]["adapter"] > 0 and deploy["ms_per_token"]["merged"] > 0
    merged = run / "deploy" / "merged"
    assert (merged / "predictions.jsonl").is_file() and not (run / "deploy" / "tmp").exists()
    assert not list(run.rglob("*.safetensors")) or all(
        "adapter" in str(p) or "checkpoint" in str(p) for p in run.rglob("*.safetensors")
    )  # the merged model and the GGUF are deleted
    with (out / "summary.csv").open() as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["label"] == "lora"]
    assert float(row["merge_delta"]) == pytest.approx(0.0, abs=1e-9 if exact else 0.126)
    assert row["gguf_delta"] != "" and float(row["ms_per_token_merged"]) > 0
    summary = (out / "summary.md").read_text()
    assert "## Deployability" in summary and "| lora | yes | " in summary
    assert "Delta$ merged" in (out / "table.tex").read_text()
    last = in_process(cli, "run", str(spec), "methods=[lora]", "deploy=true", "-o", str(out), "-q")
    assert "done: 0 finished, 0 failed, 1 already done" in last.stdout


def test_plan_estimates_each_cell_from_a_cached_probe(tmp_path, tiny_model_dir, cli):
    spec = write_spec(tmp_path, tiny_model_dir, methods=["lora"], seeds=[0, 1])
    out = tmp_path / "out"
    first = in_process(cli, "plan", str(spec), "-o", str(out), "--json")
    assert first.returncode == 0, first.stderr
    rows = json.loads(first.stdout)
    assert [r["steps"] for r in rows] == [2, 2]
    assert all(r["est. minutes"] > 0 and r["est. peak GB"] > 0.1 for r in rows)
    assert len(list((out / "probes").glob("*.json"))) == 1  # seeds share one probe
    again = in_process(cli, "plan", str(spec), "-o", str(out), "budget.max_steps=200")
    assert again.returncode == 0 and "probing" not in again.stdout  # cached
    assert "estimate" in again.stdout and "for 2 cells" in again.stdout
    both = in_process(cli, "plan", str(spec), "-o", str(out), "--json", "eval.mode=[rank,generate]")
    assert both.returncode == 0, both.stderr
    probes = [json.loads(p.read_text()) for p in (out / "probes").glob("*.json")]
    assert len(probes) == 2  # a further mode is probed: it costs scoring time
    rank_only, with_generate = sorted(probes, key=lambda p: p["splits_scored"])
    assert with_generate["splits_scored"] == 2 * rank_only["splits_scored"]
    # the time of each mode's scoring is measured (wall times: compared with nothing, since a
    # test beside another on the same cores takes any time)
    assert with_generate["scoring_seconds_per_example"] > 0
    assert json.loads(both.stdout)[0]["est. minutes"] > 0


def test_progress_eta_is_measured_cell_time_times_cells_left_over_parallel():
    from peftctl.bench.progress import BenchProgress

    progress = BenchProgress(total=5, parallel=2, quiet=True)
    assert progress.eta_seconds() is None
    progress.finished("a", "finished", 10.0, "")
    progress.finished("b", "finished", 20.0, "")
    progress.finished("c", "failed", 1.0, "")
    assert progress.eta_seconds() == 15.0 * 2 / 2
    assert progress.summary() == "done 2, failed 1, running 0, ETA 0m15s"


def test_a_cell_trains_as_several_processes(tmp_path, tiny_model_dir, cli):
    """``processes: 2``: each cell's training is a torchrun job (here fsdp); a cell id of its
    own (a step sees twice the examples), and a CPU per process reserved."""
    spec = write_spec(
        tmp_path,
        tiny_model_dir,
        methods=["lora"],
        processes=2,
        train={"batch_size": 2, "save_every": 1, "distributed": "fsdp"},
    )
    out = tmp_path / "out"
    done = in_process(cli, "run", str(spec), "-o", str(out), "-q", "--cpus-per-cell", "1")
    assert done.returncode == 0, done.stderr
    (record,) = cell_records(BenchDir(out))
    assert record["processes"] == 2 and record["test"]["metrics"]["accuracy"] is not None
    card = json.loads((Path(record["run_dir"]) / "run.json").read_text())
    assert (card["distributed"]["strategy"], card["distributed"]["world_size"]) == ("fsdp", 2)
    from peftctl.bench.cells import expand, recipe_hash
    from peftctl.bench.spec import load_spec

    (cell,) = expand(load_spec(str(spec)))
    assert recipe_hash(cell.recipe, 1) != recipe_hash(cell.recipe, 2) == cell.id == record["id"]
    for override, says in [
        ("processes=0", "processes=0 is out of range"),
        ("processes=1", "train.distributed=fsdp needs several processes per cell"),
        ("train.distributed=none", "processes=2 with train.distributed=none"),
    ]:
        code, _, err = cli("bench", "validate", str(spec), override)
        assert code == 2 and err.count("\n") == 1 and says in err, err
