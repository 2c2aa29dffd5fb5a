"""Throughput and latency of `peftctl serve` under 1, 4 and 16 concurrent clients spread over
three adapters of different methods (LoRA, IA3, prompt tuning) — the server a `peftctl serve`
subprocess, the clients threads of this one — against the same requests run
one at a time through `peftctl generate`'s path (`load_talker` + `complete`), in one run.

Every request asks for exactly ``--max-tokens`` greedy tokens (``ignore_eos``), so each level
generates the same number of tokens. The adapters have random weights (no training: the
figure is serving's). Run alone on a quiet machine:
    python benchmarks/serve_load.py [--model NAME] [--requests 48] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import gc
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROMPTS = [
    "Write a short note about the sea.",
    "What is a good name for a cat?",
    "Explain why the sky is blue.",
    "List three fruits.",
    "Describe a quiet morning in a small town.",
    "How do plants grow?",
    "Tell me about the moon.",
    "What makes a good friend?",
]
METHODS = ("lora", "ia3", "prompt_tuning")


def make_adapters(model: str, root: Path) -> dict[str, Path]:
    """A run directory per method of :data:`METHODS`, with random trainable weights."""
    import peft
    import torch
    import yaml

    from peftctl.models.loading import load_model

    configs = {
        "lora": peft.LoraConfig(task_type="CAUSAL_LM", r=8, target_modules=["q_proj", "v_proj"]),
        "ia3": peft.IA3Config(
            task_type="CAUSAL_LM",
            target_modules=["k_proj", "v_proj", "down_proj"],
            feedforward_modules=["down_proj"],
        ),
        "prompt_tuning": peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8),
    }
    runs = {}
    for method, config in configs.items():
        torch.manual_seed(0)
        adapted = peft.get_peft_model(load_model(model), config)
        with torch.no_grad():
            for param in adapted.parameters():
                if param.requires_grad:
                    param.add_(0.02 * torch.randn_like(param))
        run = root / method
        adapted.save_pretrained(str(run / "adapter"))
        recipe = {"model": {"name": model}, "method": {"name": method}}
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        runs[method] = run
    return runs


def requests(n: int) -> list[tuple[str, str]]:
    """``n`` (adapter, prompt) pairs, adapters in turn."""
    return [(METHODS[i % len(METHODS)], PROMPTS[i % len(PROMPTS)]) for i in range(n)]


def one_at_a_time(model: str, runs: dict[str, Path], work, max_tokens: int) -> dict:
    """The requests through `peftctl generate`'s path, one after another (models preloaded)."""
    from peftctl.config.recipe import build_recipe
    from peftctl.evaluation.targets import inference_target
    from peftctl.inference.completion import complete, encode_prompt, load_talker

    talkers = {}
    for method, run in runs.items():
        _, candidate = inference_target(None, model=model, adapter=str(run))
        talkers[method] = load_talker(build_recipe({"model": {"name": model}}), candidate)
    latencies = []
    started = time.perf_counter()
    for method, prompt in work:
        begun = time.perf_counter()
        talker = talkers[method]
        ids = encode_prompt(talker, prompt, raw=True)
        complete(talker, ids, max_new_tokens=max_tokens, ignore_eos=True)
        latencies.append(time.perf_counter() - begun)
    return _row("one at a time (generate's path)", len(work) * max_tokens, started, latencies)


def served(url: str, work, clients: int, max_tokens: int) -> dict:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)

    def ask(item: tuple[str, str]) -> tuple[int, float]:
        begun = time.perf_counter()
        answer = client.completions.create(
            model=item[0],
            prompt=item[1],
            max_tokens=max_tokens,
            temperature=0,
            extra_body={"ignore_eos": True},
        )
        return answer.usage.completion_tokens, time.perf_counter() - begun

    sizes = _batch_sizes(url)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(ask, work))
    tokens = sum(t for t, _ in done)
    row = _row(f"serve, {clients} client(s)", tokens, started, [s for _, s in done])
    requests, batches = (a - b for a, b in zip(_batch_sizes(url), sizes, strict=True))
    return {**row, "batch": requests / batches}


def _batch_sizes(url: str) -> tuple[float, float]:
    """(requests, batches) the server has generated so far, from its /metrics."""
    import httpx

    text = httpx.get(f"{url}/metrics").text
    found = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("peftctl_batch_size_")
    )
    return float(found["peftctl_batch_size_sum"]), float(found["peftctl_batch_size_count"])


def _row(label: str, tokens: int, started: float, latencies: list[float]) -> dict:
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "label": label,
        "tokens": tokens,
        "seconds": wall,
        "tokens_per_s": tokens / wall,
        "p50": statistics.median(ordered),
        "p95": p95,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Base model (default: the default model).")
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--max-batch", type=int, default=8)
    args = parser.parse_args()
    from peftctl.facts.names import DEFAULT_MODEL

    model = args.model or DEFAULT_MODEL
    work = requests(args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        runs = make_adapters(model, Path(tmp))
        rows = [one_at_a_time(model, runs, work, args.max_tokens)]
        gc.collect()
        port = _free_port()
        argv = [sys.executable, "-m", "peftctl", "serve", *(f"{m}={r}" for m, r in runs.items())]
        argv += ["--model", model, "--port", str(port)]
        server = subprocess.Popen([*argv, "--max-batch", str(args.max_batch)])
        try:
            url = _wait_healthy(port, server)
            for clients in (int(c) for c in args.clients.split(",")):
                rows.append(served(url, work, clients, args.max_tokens))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=120)
    base = rows[0]["tokens_per_s"]
    print(
        f"\n{len(work)} requests x {args.max_tokens} tokens over {', '.join(METHODS)}; "
        f"model {model}; max batch {args.max_batch}\n"
    )
    print("| run | tokens/s | vs one at a time | p50 s | p95 s | wall s | mean batch |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['label']} | {row['tokens_per_s']:.1f} | {row['tokens_per_s'] / base:.2f}x "
            f"| {row['p50']:.2f} | {row['p95']:.2f} | {row['seconds']:.1f} "
            f"| {row.get('batch', 1):.1f} |"
        )


def _wait_healthy(port: int, server: subprocess.Popen) -> str:
    import httpx

    url = f"http://127.0.0.1:{port}"
    while server.poll() is None:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return url
        except httpx.TransportError:
            time.sleep(0.5)
    raise SystemExit(f"peftctl serve exited with {server.returncode}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
