"""What a failed, killed or concurrent `peftctl train` leaves in output_dir, and what it says."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap

import torch
from safetensors.torch import load_file

from peftctl.errors import PeftctlError
from peftctl.locking import exclusive
from tests.training.test_train_cli import REPO, tiny_overrides

FP32 = "train.precision=fp32"


def _fail_loading_data(monkeypatch):
    def broken(config, tokenizer):
        raise PeftctlError("dataset.path=x.jsonl: row 3 is not valid JSON")

    monkeypatch.setattr("peftctl.training.run._load_data", broken)


def test_a_run_failing_before_its_first_step_leaves_nothing(
    tiny_model_dir, tmp_path, cli, monkeypatch
):
    out = tmp_path / "new" / "run"
    _fail_loading_data(monkeypatch)
    code, _, err = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out))
    assert code == 2 and err == "error: dataset.path=x.jsonl: row 3 is not valid JSON\n"
    assert not out.exists()  # the corrected re-run is not told "already holds results"
    monkeypatch.undo()
    code, _, err = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "-q")
    assert code == 0, err


def test_overwrite_keeps_old_results_until_the_new_inputs_load(
    tiny_model_dir, tmp_path, cli, monkeypatch
):
    out = tmp_path / "run"
    assert cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "-q")[0] == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    _fail_loading_data(monkeypatch)
    code, _, _ = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "--overwrite")
    assert code == 2
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_a_failure_after_a_checkpoint_says_what_was_kept(
    tiny_model_dir, tmp_path, cli, monkeypatch
):
    from peftctl.training.trainer import Trainer

    out = tmp_path / "run"
    evaluate = Trainer.evaluate

    def fail_on_second_eval(self):
        if self.state.step == 6:
            raise PeftctlError("the eval split went away")
        return evaluate(self)

    monkeypatch.setattr(Trainer, "evaluate", fail_on_second_eval)
    args = ("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "-q")
    code, _, err = cli(*args)
    assert code == 2 and err.count("\n") == 1
    assert "the eval split went away; checkpoints up to step 3 are kept in" in err
    assert "run the same command with --resume" in err
    monkeypatch.undo()
    code, _, err = cli(*args, "--resume")
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["training"]["steps"] == 6


def test_a_second_train_on_the_same_output_dir_is_refused(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    out.mkdir()
    with exclusive(out, "`peftctl train`", "wait"):
        code, _, err = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out))
    assert code == 2 and err.count("\n") == 1
    assert f"{out} is in use by `peftctl train` (pid {os.getpid()} on " in err
    assert "set output_dir=<new dir>" in err


def test_an_output_dir_that_cannot_be_written_is_one_line(tiny_model_dir, cli):
    code, _, err = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, "/proc/peftctl/run"))
    assert code == 2 and err.count("\n") == 1
    assert "output_dir '/proc/peftctl/run': cannot write there (" in err


def test_a_full_disk_at_a_checkpoint_keeps_the_previous_one(
    tiny_model_dir, tmp_path, cli, monkeypatch
):
    from peftctl.training import checkpoint as ckpt

    out = tmp_path / "run"
    save = ckpt.save_trainable

    def full_at_step_six(state, folder):
        if "step-00000006" in folder.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        save(state, folder)

    monkeypatch.setattr(ckpt, "save_trainable", full_at_step_six)
    args = ("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "-q")
    code, _, err = cli(*args)
    assert code == 2 and err.count("\n") == 1
    assert "cannot write checkpoint " in err and "No space left on device" in err
    assert "checkpoints up to step 3 are kept" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best", "step-00000003"]
    monkeypatch.undo()
    assert cli(*args, "--resume")[0] == 0


KILL_DURING_CHECKPOINT = """
import os, signal, sys
from peftctl.training import checkpoint
write_state = checkpoint.write_state
def die_at_step_four(folder, state):
    if state["step"] == 4:  # accelerate's files are written, the trainer state not yet
        os.kill(os.getpid(), signal.SIGKILL)
    write_state(folder, state)
checkpoint.write_state = die_at_step_four
from peftctl.cli import main
main(sys.argv[1:])
"""


def test_kill_9_while_writing_a_checkpoint_then_resume_gives_the_same_adapter(
    tiny_model_dir, tmp_path, cli
):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    extra = (FP32, "train.save_every=2", "train.eval_every=0", "eval.load_best=false")
    assert (
        cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, straight, *extra), "-q")[0] == 0
    )
    args = ["train", "lora_sst2", *tiny_overrides(tiny_model_dir, killed, *extra), "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = textwrap.dedent(KILL_DURING_CHECKPOINT)
    result = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=REPO, env=env, capture_output=True, timeout=300
    )
    assert result.returncode == -9
    assert [p.name for p in (killed / "checkpoints").iterdir()] == [
        ".step-00000004.tmp",
        "step-00000002",
    ]
    code, _, err = cli(*args, "--resume")
    assert code == 0, err
    card = json.loads((killed / "run.json").read_text())
    assert card["resumed_from"].endswith("step-00000002")
    a = load_file(str(straight / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(killed / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_a_kill_during_the_final_eval_only_scores(
    tiny_model_dir, tmp_path, cli, monkeypatch
):
    out = tmp_path / "run"
    args = ("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out, "eval.after_train=true"))

    def killed(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr("peftctl.training.run._evaluate_run", killed)
    assert cli(*args, "-q")[0] == 130  # interrupted
    assert "evaluation" not in json.loads((out / "run.json").read_text())
    adapter = (out / "adapter" / "adapter_model.safetensors").read_bytes()
    monkeypatch.undo()
    code, _, err = cli(*args, "--resume", "-q")
    assert code == 0, err
    card = json.loads((out / "run.json").read_text())
    assert card["evaluation"]["examples"] == 16 and card["training"]["steps"] == 6
    assert (out / "adapter" / "adapter_model.safetensors").read_bytes() == adapter


def test_accelerate_launch_asking_for_cpu_processes_says_it_runs_one(monkeypatch, capsys):
    from peftctl.training.outputs import warn_single_cpu_process

    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    warn_single_cpu_process(1)
    assert "this run uses 1. For several CPU processes: torchrun" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun: the processes are there
    warn_single_cpu_process(2)
    assert capsys.readouterr().err == ""


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_damaged_adapters_and_checkpoints_are_named(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    args = ("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "-q")
    assert cli(*args)[0] == 0
    adapter = out / "adapter" / "adapter_model.safetensors"
    _truncate(adapter)
    for command in (("eval", str(out), "--limit", "2"), ("merge", str(out), str(tmp_path / "m"))):
        code, _, err = cli(*command)
        assert code == 2 and err.count("\n") == 1, err
        assert f"{adapter} is damaged or truncated (" in err
    state = out / "checkpoints" / "step-00000006" / "trainable.safetensors"
    _truncate(state)
    code, _, err = cli(*args[:-1], "train.max_steps=9", "--resume")
    assert code == 2 and err.splitlines()[-1].startswith(f"error: {state} is damaged")
    assert err.rstrip().endswith("to resume from the checkpoint before it")
    assert "delete " in err and "to resume from the checkpoint before it" in err
