"""`train.distributed=fsdp`: two CPU processes (gloo) train as one process does, each holding
half the parameters; a kill -9 and --resume end with the same adapter; two "nodes"."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.test_train_cli import tiny_overrides

REPO = Path(__file__).resolve().parents[2]
STEPS = ("train.batch_size=2", "train.precision=fp32", "eval.load_best=false")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str, nodes: int = 1, node_rank: int = 0, port: int = 0, script=None):
    """``torchrun`` of ``peftctl *args`` (or of ``script``) on loopback; the Popen."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--master_addr", "127.0.0.1"]
    launcher += ["--master_port", str(port or free_port())]
    launcher += ["--nnodes", str(nodes), "--node_rank", str(node_rank)]
    launcher += ["--nproc_per_node", str(2 // nodes)]
    target = [str(script)] if script else ["-m", "peftctl"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [*launcher, *target, *args, "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def losses(run: Path) -> list[tuple[int, float]]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r.get("loss", r.get("eval_loss"))) for r in records]


def adapter(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "adapter" / "adapter_model.safetensors"))


def assert_same_adapter(a: Path, b: Path, atol: float = 0.0) -> None:
    x, y = adapter(a), adapter(b)
    assert x.keys() == y.keys()
    for key in x:
        torch.testing.assert_close(x[key], y[key], atol=atol, rtol=0)


@pytest.fixture(scope="module")
def fsdp_lora(tiny_model_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fsdp") / "lora"
    extra = (*STEPS, "train.distributed=fsdp")
    result = finished(torchrun("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out, *extra)))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_fsdp_trains_as_one_process_with_half_the_parameters_each(
    fsdp_lora, tiny_model_dir, tmp_path, cli
):
    one = tmp_path / "one"
    # one process with 2 micro-batches of 2 sees each step's 4 examples, as 2 processes do
    extra = (*STEPS, "train.grad_accum=2")
    code, _, err = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, one, *extra), "-q")
    assert code == 0, err
    expected, got = losses(one), losses(fsdp_lora)
    assert [s for s, _ in got] == [s for s, _ in expected]
    assert [v for _, v in got] == pytest.approx([v for _, v in expected], abs=1e-5)
    assert_same_adapter(one, fsdp_lora, atol=1e-6)
    card = json.loads((fsdp_lora / "run.json").read_text())
    sharded, whole = card["distributed"], json.loads((one / "run.json").read_text())
    assert sharded["strategy"] == "fsdp" and sharded["world_size"] == 2
    assert card["training"]["batching"] == "shared-prefix"  # the fast path kept under fsdp
    assert [p["rank"] for p in sharded["per_process"]] == [0, 1]
    one_process = whole["distributed"]["per_process"][0]["parameter_bytes"]
    for process in sharded["per_process"]:
        assert process["parameter_bytes"] == pytest.approx(one_process / 2, rel=0.02)
        assert process["peak_rss_bytes"] > 0
    # the adapter is a plain peft directory: one process scores it
    code, _, err = cli("eval", str(fsdp_lora), "eval.mode=rank", "-q")
    assert code == 0, err
    assert json.loads((fsdp_lora / "metrics.json").read_text())["examples"] == 16


KILL_AT_STEP_FOUR = """
import os, signal, sys
from peftctl.training import checkpoint
write_state = checkpoint.write_state
def die_at_step_four(folder, state):
    if state["step"] == 4:  # every process wrote its shard; the trainer state not yet
        os.kill(os.getpid(), signal.SIGKILL)
    write_state(folder, state)
checkpoint.write_state = die_at_step_four
from peftctl.cli import main
main(sys.argv[1:])
"""


def test_fsdp_kill_9_then_resume_gives_the_same_adapter(fsdp_lora, tiny_model_dir, tmp_path):
    killed = tmp_path / "killed"
    extra = (*STEPS, "train.distributed=fsdp", "train.save_every=2", "train.eval_every=0")
    args = ["train", "lora_sst2", *tiny_overrides(tiny_model_dir, killed, *extra)]
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_AT_STEP_FOUR))
    assert finished(torchrun(*args, script=script)).returncode != 0
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == [
        ".step-00000004.tmp",
        "step-00000002",
    ]
    assert (killed / "checkpoints" / "step-00000002" / "sharded").is_dir()
    result = finished(torchrun(*args, "--resume"))
    assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads((killed / "run.json").read_text())
    assert card["resumed_from"].endswith("step-00000002")
    # eval_every differs, training does not: the uninterrupted run's adapter, bit for bit
    assert_same_adapter(fsdp_lora, killed)


def test_prefix_tuning_under_fsdp_on_two_nodes(tiny_model_dir, tmp_path, cli):
    """Two torchrun rendezvous groups on loopback, one process each: ``--nnodes 2``."""
    one, nodes = tmp_path / "one", tmp_path / "nodes"
    extra = (*STEPS, "train.max_steps=4", "train.eval_every=2", "train.save_every=0")
    code, _, err = cli(
        "train",
        "prefix_tuning_sst2",
        *tiny_overrides(tiny_model_dir, one, *extra),
        "train.grad_accum=2",
        "-q",
    )
    assert code == 0, err
    args = ["train", "prefix_tuning_sst2", *tiny_overrides(tiny_model_dir, nodes, *extra)]
    args.append("train.distributed=fsdp")
    port = free_port()
    launches = [torchrun(*args, nodes=2, node_rank=r, port=port) for r in (0, 1)]
    for result in map(finished, launches):
        assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads((nodes / "run.json").read_text())["distributed"]
    assert (card["strategy"], card["world_size"], card["nodes"]) == ("fsdp", 2, 2)
    assert [v for _, v in losses(nodes)] == pytest.approx([v for _, v in losses(one)], abs=1e-5)
    assert_same_adapter(one, nodes, atol=1e-6)


def test_a_fsdp_checkpoint_resumed_by_one_process_is_one_line(fsdp_lora, tmp_path, cli):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(fsdp_lora, run)
    recipe = str(run / "recipe.yaml")
    args = ("train", recipe, f"output_dir={run}", "train.distributed=auto", "--resume", "-q")
    code, _, err = cli(*args)
    assert code == 2 and err.count("\n") == 1, err
    assert "was saved with train.distributed=fsdp" in err


def test_strategies_and_their_refusals(tiny_model_dir, tmp_path, cli):
    from peftctl.errors import PeftctlError
    from peftctl.testing import make_method
    from peftctl.training.sharding import check_shardable, choose_strategy

    assert (choose_strategy("auto", 1), choose_strategy("auto", 2)) == ("none", "ddp")
    assert choose_strategy("fsdp", 4) == "fsdp"
    for requested, processes, says in [
        ("none", 2, "launched as 2 processes"),
        ("fsdp", 1, "needs several processes"),
        ("ddp", 1, "needs several processes"),
    ]:
        with pytest.raises(PeftctlError, match=says):
            choose_strategy(requested, processes)
    check_shardable(make_method("lora"))
    for name, why in [("adalora", "on_step, regularization"), ("galore", "make_optimizer")]:
        with pytest.raises(PeftctlError, match=why):
            check_shardable(make_method(name))
    out = tmp_path / "run"
    for value, says in [
        ("fsdp", "train.distributed=fsdp needs several processes"),
        ("fsd", "train.distributed=fsd is not one of auto, none, ddp, fsdp"),
    ]:
        overrides = tiny_overrides(tiny_model_dir, out, f"train.distributed={value}")
        code, _, err = cli("train", "lora_sst2", *overrides, "-q")
        assert code == 2 and err.count("\n") == 1 and says in err, err
        assert not out.exists()
