"""Training throughput: peftctl's trainer vs a plain transformers Trainer + peft loop.

LoRA r=8 on q_proj/v_proj of the default model, the same SST-2 rows in the same batches for
a fixed number of steps, each variant in its own process (so peak RSS is its own). Prints
tokens/s, the speed-up over the plain Trainer, peak RSS, model-FLOPs utilisation (4*N FLOPs
per example token for a frozen base, over the matmul throughput measured here at the model's
shapes; and the same on the token positions each variant computes) and the mean and
largest per-step loss difference against the fp32 baseline. Tokens are the examples' own
tokens for every variant, whatever padding, packing or prefix sharing computes.

The variants run in lockstep: every process loads its model, then they take turns, one
training step at a time, so a machine shared with other jobs slows all of them alike and the
ratios stay meaningful. Step times are wall-clock and CPU time of the process (``tok/cpu-s``;
with ``--threads 1`` no thread spins while waiting for another). ``peftctl_auto`` is
skipped where ``train.precision=auto`` resolves to fp32 (it would repeat ``peftctl_fp32``).
Ablations: ``--variants trainer_fp32,peftctl_fp32,peftctl_packed,peftctl_padded``; bf16 parity
(``benchmarks/bf16_parity.py``): ``--variants peftctl_fp32,peftctl_bf16,peftctl_bf16_stream,
peftctl_bf16_fp32w`` (bf16 forced; ``_stream``: the residual stream left in bf16, as before it
was kept in fp32; ``_fp32w``: frozen weights in fp32, plain autocast). ``--json`` writes every
variant's per-step losses and times.

Run: python benchmarks/train_throughput.py [--steps 20] [--batch-size 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = (
    "trainer_fp32",
    "peftctl_fp32",
    "peftctl_packed",
    "peftctl_padded",
    "peftctl_auto",
    "peftctl_bf16",
    "peftctl_bf16_stream",
    "peftctl_bf16_fp32w",
)
BF16_LAYOUTS = {  # how the bf16 variants store and prepare the base model
    "peftctl": "as peftctl train does",
    "bf16_stream": "bf16 stream",  # as before the residual stream was kept in fp32
    "fp32_weights": "fp32 weights",  # plain autocast, casting frozen weights on every call
}
DEFAULT_VARIANTS = "trainer_fp32,peftctl_fp32,peftctl_auto"
LR = 2e-4


def load_rows(steps: int, batch_size: int, model_name: str):
    """Tokenised SST-2 train rows in peftctl's batch order, and the tokenizer."""
    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.loading import load_split
    from peftctl.datasets.tokenize import tokenize_examples
    from peftctl.models.loading import load_tokenizer
    from peftctl.training.batching import TokenData, epoch_batches

    tokenizer = load_tokenizer(model_name)
    config = DatasetConfig(name="sst2", max_train_samples=steps * batch_size)
    examples = load_split(config, "train", seed=0)
    tokens = tokenize_examples(examples, tokenizer, config.cutoff_len)
    data = TokenData(tokens.input_ids, tokens.labels)
    plan = epoch_batches(data.lengths(), batch_size, seed=0, epoch=0)[:steps]
    order = [i for batch in plan for i in batch]  # peftctl's first epoch, flattened
    return TokenData([data.input_ids[i] for i in order], [data.labels[i] for i in order]), tokenizer


def lora_model(model_name: str, precision: str = "fp32", layout: str = "peftctl"):
    """The default model with LoRA r=8 on q/v, prepared as ``peftctl train`` prepares it, or
    in bf16 another way (``layout``: see :data:`BF16_LAYOUTS`)."""
    import torch

    from peftctl.models.loading import base_dtype, load_model
    from peftctl.testing import make_method
    from peftctl.training.precision import (
        prepare_base,
        tune_for_precision,
        upcast_trainable,
    )

    dtype = torch.float32 if layout == "fp32_weights" else base_dtype(precision)
    model = load_model(model_name, dtype=dtype)
    if layout == "peftctl":
        prepare_base(model, precision, "cpu")
    else:
        tune_for_precision(model, precision, "cpu")
    method = make_method("lora", r=8, alpha=16, dropout=0.0, target_modules=["q_proj", "v_proj"])
    model = method.apply(model)
    upcast_trainable(model)
    model.get_input_embeddings().register_forward_pre_hook(count_computed_tokens)
    return model, method


#: Token positions the model has run (every row of every forward pass, padding included)
COMPUTED = {"tokens": 0}


def count_computed_tokens(_module, inputs) -> None:
    COMPUTED["tokens"] += inputs[0].numel()


def run_peftctl(args, precision: str, batching: str | None = None, layout: str = "peftctl") -> dict:
    import tempfile

    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from peftctl.config.sections import EvalConfig, TrainConfig
    from peftctl.hardware import choose_precision
    from peftctl.training.batching import TokenData
    from peftctl.training.trainer import MIXED_PRECISION, Trainer

    data, tokenizer = load_rows(args.steps, args.batch_size, args.model)
    set_seed(0)
    chosen = choose_precision(precision, "cpu")
    model, method = lora_model(args.model, chosen, layout)
    # the rows are already in batch order: a sequential plan over one epoch
    ordered = TokenData(data.input_ids, data.labels)
    trainer = Trainer(
        model=model,
        method=method,
        train=TrainConfig(
            max_steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            scheduler="constant",
            max_grad_norm=1.0,
            precision=chosen,
        ),
        eval=EvalConfig(),
        seed=0,
        train_data=ordered,
        eval_data=None,
        pad_id=tokenizer.pad_token_id,
        output_dir=Path(tempfile.mkdtemp(prefix="peftctl-bench-")),
        accelerator=Accelerator(cpu=True, mixed_precision=MIXED_PRECISION[chosen]),
        quiet=True,
    )
    trainer._my_micro_batches = lambda: [  # keep the benchmark's fixed batch order
        list(
            range(trainer.state.step * args.batch_size, (trainer.state.step + 1) * args.batch_size)
        )
    ]
    if batching is not None:  # an ablation: force a batching mode
        trainer.batching = batching
    times, step, turns = [], trainer._train_step, Turns(args.turn_fds)

    def timed_step():
        turns.wait()
        wall, cpu, computed = time.perf_counter(), time.process_time(), COMPUTED["tokens"]
        result = step()
        times.append(
            (time.perf_counter() - wall, time.process_time() - cpu, COMPUTED["tokens"] - computed)
        )
        turns.done()
        return result

    trainer._train_step = timed_step
    trainer.fit()
    losses = [r["loss"] for r in trainer.state.log if "loss" in r]
    label = f"peftctl {chosen}, {getattr(trainer, 'batching', 'padded')}"
    label += f", {BF16_LAYOUTS[layout]}" if layout != "peftctl" else ""
    return _summary(label, chosen, data, args, losses, times)


def run_trainer(args) -> dict:
    import torch
    from accelerate.utils import set_seed
    from torch.utils.data import SequentialSampler
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    data, tokenizer = load_rows(args.steps, args.batch_size, args.model)
    set_seed(0)
    model, _ = lora_model(args.model)
    rows = [
        {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}
        for ids, labels in zip(data.input_ids, data.labels, strict=True)
    ]

    class InOrder(Trainer):
        def _get_train_sampler(self, *_args, **_kwargs):
            return SequentialSampler(self.train_dataset)

    class StepTimes(TrainerCallback):
        def __init__(self):
            self.times, self.losses, self.turns = [], [], Turns(args.turn_fds)

        def on_step_begin(self, *_args, **_kwargs):
            self.turns.wait()
            self.started = (time.perf_counter(), time.process_time(), COMPUTED["tokens"])

        def on_step_end(self, *_args, **_kwargs):
            wall, cpu, computed = self.started
            now = (time.perf_counter(), time.process_time(), COMPUTED["tokens"])
            self.times.append((now[0] - wall, now[1] - cpu, now[2] - computed))
            self.turns.done()

        def on_log(self, _args, _state, _control, logs=None, **_kwargs):
            if logs and "loss" in logs:
                self.losses.append(logs["loss"])

    timer = StepTimes()
    training_args = TrainingArguments(
        output_dir=str(Path(args.workdir) / "trainer"),
        per_device_train_batch_size=args.batch_size,
        max_steps=args.steps,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        max_grad_norm=1.0,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        seed=0,
        disable_tqdm=True,
        remove_unused_columns=False,
    )
    trainer = InOrder(
        model=model,
        args=training_args,
        train_dataset=rows,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        callbacks=[timer],
    )
    torch.manual_seed(0)
    trainer.train()
    return _summary("transformers Trainer fp32", "fp32", data, args, timer.losses, timer.times)


def run_variant(variant: str, args) -> dict:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    runners = {
        "trainer_fp32": lambda: run_trainer(args),
        "peftctl_fp32": lambda: run_peftctl(args, "fp32"),
        "peftctl_packed": lambda: run_peftctl(args, "fp32", "packed"),
        "peftctl_padded": lambda: run_peftctl(args, "fp32", "padded"),
        "peftctl_auto": lambda: run_peftctl(args, "auto"),
        "peftctl_bf16": lambda: run_peftctl(args, "bf16"),
        "peftctl_bf16_stream": lambda: run_peftctl(args, "bf16", layout="bf16_stream"),
        "peftctl_bf16_fp32w": lambda: run_peftctl(args, "bf16", layout="fp32_weights"),
    }
    return runners[variant]()


def _summary(label, precision, data, args, losses, times) -> dict:
    from peftctl.memory import peak_rss_bytes

    tokens = [
        sum(len(data.input_ids[i]) for i in range(s * args.batch_size, (s + 1) * args.batch_size))
        for s in range(args.steps)
    ]
    timed = slice(args.warmup, None)  # the first steps warm allocators and caches
    seconds = sum(wall for wall, _, _ in times[timed])
    cpu_seconds = sum(cpu for _, cpu, _ in times[timed])
    computed = sum(n for _, _, n in times[timed])
    return {
        "label": label,
        "precision": precision,
        "tokens_per_s": sum(tokens[timed]) / seconds,
        "tokens_per_cpu_s": sum(tokens[timed]) / cpu_seconds,
        "computed_per_s": computed / seconds,
        "seconds_per_step": seconds / len(times[timed]),
        "losses": losses,
        "peak_rss_mib": peak_rss_bytes() / 2**20,
        "tokens_per_step": sum(tokens) / len(tokens),
    }


def matmul_flops(precision: str, tokens: int, hidden: int, inner: int) -> float:
    """Best FLOP/s of the model's linear-layer shapes at ``tokens`` rows, in ``precision``."""
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    best = 0.0
    for k, n in ((hidden, hidden), (hidden, inner), (inner, hidden)):
        a, b = torch.randn(tokens, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        for _ in range(3):
            a @ b
        runs, start = 20, time.perf_counter()
        for _ in range(runs):
            a @ b
        best = max(best, 2 * tokens * k * n * runs / (time.perf_counter() - start))
    return best


def model_facts(model_name: str) -> dict:
    from transformers import AutoConfig

    from peftctl.models.loading import model_source

    config = AutoConfig.from_pretrained(model_source(model_name))
    from peftctl.models.loading import load_model

    n = sum(p.numel() for p in load_model(model_name).parameters())
    return {"params": n, "hidden": config.hidden_size, "inner": config.intermediate_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2, help="Untimed first steps.")
    parser.add_argument("--lr", type=float, default=LR, help="Constant learning rate.")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--workdir", default="/tmp/peftctl-train-bench")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice).")
    parser.add_argument(
        "--variants", default=DEFAULT_VARIANTS, help=f"Comma-separated, from {', '.join(VARIANTS)}."
    )
    parser.add_argument("--json", help="Also write the results (per-step losses) here.")
    parser.add_argument("--only", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--turn-fds", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run_variant(args.only, args)))
        return
    variants = [v.strip() for v in args.variants.split(",")]
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    from peftctl.hardware import choose_precision

    if "peftctl_auto" in variants and choose_precision("auto", "cpu") == "fp32":
        print("train.precision=auto is fp32 on this CPU: peftctl_auto would repeat peftctl_fp32")
        variants.remove("peftctl_auto")
    variants = ["trainer_fp32", *(v for v in variants if v != "trainer_fp32")]
    results = run_in_lockstep(variants, args.steps)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    report(results, args)


def run_in_lockstep(variants: list[str], steps: int) -> dict[str, dict]:
    """Run each variant in its own process, one training step at a time, in turn."""
    children = {}
    for variant in variants:
        from_parent, to_child = os.pipe()
        from_child, to_parent = os.pipe()
        argv = [sys.executable, __file__, *sys.argv[1:], "--only", variant]
        argv += ["--turn-fds", f"{from_parent},{to_parent}"]
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, text=True, pass_fds=(from_parent, to_parent)
        )
        os.close(from_parent)
        os.close(to_parent)
        children[variant] = (process, to_child, from_child)
    for _ in range(steps):
        for variant, (_, _, from_child) in children.items():  # all at their gate
            _expect(from_child, b"w", variant)
        for variant, (_, to_child, from_child) in children.items():
            os.write(to_child, b"g")
            _expect(from_child, b"d", variant)
    results = {}
    for variant, (process, _, _) in children.items():
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"{variant} failed with exit code {process.returncode}")
        results[variant] = json.loads(out.strip().splitlines()[-1])
    return results


def _expect(fd: int, token: bytes, variant: str) -> None:
    got = os.read(fd, 1)
    if got != token:
        raise SystemExit(f"{variant} stopped before its step ended (see its output above)")


class Turns:
    """The child's side of the lockstep: wait for its turn, say when the step is done."""

    def __init__(self, fds: str | None) -> None:
        self.fds = tuple(int(fd) for fd in fds.split(",")) if fds else None

    def wait(self) -> None:
        if self.fds:
            os.write(self.fds[1], b"w")
            os.read(self.fds[0], 1)

    def done(self) -> None:
        if self.fds:
            os.write(self.fds[1], b"d")


def report(results: dict, args) -> None:
    import torch

    from peftctl.hardware import cpu_capabilities

    if args.threads:
        torch.set_num_threads(args.threads)
    facts = model_facts(args.model)
    tokens_per_batch = int(results["trainer_fp32"]["tokens_per_step"])
    peak = {  # bf16 only when measured: it takes a minute where bf16 is slow
        p: matmul_flops(p, tokens_per_batch, facts["hidden"], facts["inner"])
        for p in sorted({r["precision"] for r in results.values()})
    }
    base = results["trainer_fp32"]
    print(f"CPU: {cpu_capabilities()}  model params: {facts['params'] / 1e6:.1f} M")
    threads = args.threads or "torch default"
    print(
        f"steps {args.steps} (first {args.warmup} untimed), batch {args.batch_size}, "
        f"threads {threads}"
    )
    peaks = ", ".join(f"{p} {flops / 1e9:.0f} GFLOP/s" for p, flops in peak.items())
    print(f"matmul peak at model shapes: {peaks}")
    for result in results.values():
        useful = 4 * facts["params"] * result["tokens_per_s"]
        done = 4 * facts["params"] * result["computed_per_s"]
        diffs = [abs(a - b) for a, b in zip(result["losses"], base["losses"], strict=True)]
        diff, mean_diff = max(diffs), sum(diffs) / len(diffs)
        speedup = result["tokens_per_s"] / base["tokens_per_s"]
        cpu_speedup = result["tokens_per_cpu_s"] / base["tokens_per_cpu_s"]
        print(
            f"{result['label']:<32} {result['tokens_per_s']:7.1f} tok/s "
            f"{result['seconds_per_step']:6.2f} s/step  x{speedup:.2f}  "
            f"{result['tokens_per_cpu_s']:7.1f} tok/cpu-s  x{cpu_speedup:.2f}  "
            f"peak RSS {result['peak_rss_mib']:6.0f} MiB  "
            f"MFU {100 * useful / peak[result['precision']]:5.1f}% "
            f"(computed {100 * done / peak[result['precision']]:4.1f}%)  "
            f"|loss - baseline| mean {mean_diff:.2e} max {diff:.2e}"
        )
    print(
        "MFU counts 4*N FLOPs per example token; above 100% means computation was shared "
        "(the shared-prefix batching runs the common prompt prefix once per micro-batch). "
        "'computed' counts the token positions each variant ran (padding included, a shared "
        "prefix once): the distance to the matmul peak."
    )


if __name__ == "__main__":
    main()
