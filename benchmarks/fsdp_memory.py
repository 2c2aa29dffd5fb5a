"""Memory and speed of several training processes: ddp (each holds the whole model) vs fsdp
(``train.distributed=fsdp``: each holds a shard), on the default model.

Each configuration is one ``torchrun --nproc_per_node N -m peftctl train`` of the same LoRA
recipe for a fixed number of steps (batch per process fixed, so N processes see N times the
examples per step); the table comes from the runs' ``run.json``: per process (mean over
processes, and the largest) the parameter bytes held, the RSS after training and the peak
RSS, and s/step and tokens/s. Processes share the machine's cores (``--threads`` each);
compare rows of one run of this script only.

Run: python benchmarks/fsdp_memory.py [--processes 1,2,4] [--steps 10] [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

MIB = 2**20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train(out: Path, processes: int, strategy: str, args: argparse.Namespace) -> dict:
    """One run; its run card."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes)]
    launcher += ["--master_addr", "127.0.0.1", "--master_port", str(free_port())]
    command = [*launcher, "-m", "peftctl", "train", "lora_sst2", f"output_dir={out}"]
    command += [f"model.name={args.model}", f"train.max_steps={args.steps}"]
    command += [f"train.batch_size={args.batch_size}", f"train.distributed={strategy}"]
    command += ["train.eval_every=0", "train.save_every=0", "eval.after_train=false"]
    command += ["eval.pscp=false", f"train.precision={args.precision}", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{strategy} x{processes} failed:\n{done.stderr[-3000:]}")
    return json.loads((out / "run.json").read_text())


def row(card: dict) -> list[str]:
    dist, training = card["distributed"], card["training"]
    procs = dist["per_process"]

    def mib(key: str) -> str:
        values = [p[key] / MIB for p in procs if p.get(key) is not None]
        return f"{sum(values) / len(values):.0f} ({max(values):.0f})"

    return [
        dist["strategy"],
        str(dist["world_size"]),
        mib("parameter_bytes"),
        mib("rss_bytes_after_training"),
        mib("peak_rss_bytes"),
        mib("peak_gpu_bytes") if "peak_gpu_bytes" in procs[0] else "-",
        f"{training['train_seconds'] / training['steps']:.2f}",
        f"{training['tokens_per_second']:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="threads per process")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--precision", default="auto", help="train.precision")
    args = parser.parse_args()
    header = ["strategy", "processes", "params MiB/process (max)", "RSS after MiB (max)"]
    header += ["peak RSS MiB (max)", "peak GPU MiB (max)", "s/step", "tokens/s"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="peftctl-fsdp-") as tmp:
        for processes in map(int, args.processes.split(",")):
            strategies = ["none"] if processes == 1 else ["ddp", "fsdp"]
            for strategy in strategies:
                card = train(Path(tmp) / f"{strategy}-{processes}", processes, strategy, args)
                rows.append(row(card))
                print(" | ".join(rows[-1]), file=sys.stderr)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
