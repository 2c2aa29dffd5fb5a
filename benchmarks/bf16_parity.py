"""bf16 parity: where a bf16 forward departs from fp32, one component at a time.

The first SST-2 training batches through the default model with LoRA r=8 on q/v (B is zero at
start, so the base model's function), prepared under each layout below; printed per layout:
max and mean |difference| from fp32 of the final hidden states and the logits at labelled
positions, of the per-token loss, and of the batch's mean loss (``peftctl``: what
``peftctl train`` does). Training parity (per-step loss), speed and peak RSS in lockstep:
``benchmarks/train_throughput.py --lr 5e-4 --threads 1 --variants
peftctl_fp32,peftctl_bf16,peftctl_bf16_stream,peftctl_bf16_fp32w``.

Run: python benchmarks/bf16_parity.py [--batches 4] [--batch-size 8] [--threads 1]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn

# name -> (stored dtype of the frozen linears, autocast, fp32 parts, what it is)
LAYOUTS: dict[str, tuple[torch.dtype, bool, frozenset[str], str]] = {
    "fp32": (torch.float32, False, frozenset(), "reference"),
    "autocast": (torch.float32, True, frozenset(), "fp32 weights, bf16 autocast"),
    "bf16": (torch.bfloat16, True, frozenset(), "every frozen weight stored in bf16"),
    "+residual": (torch.bfloat16, True, frozenset({"residual"}), "embedding output upcast"),
    "+norms": (torch.bfloat16, True, frozenset({"norms"}), "RMSNorm weights fp32"),
    "+residual+norms": (torch.bfloat16, True, frozenset({"residual", "norms"}), ""),
    "+logits": (torch.bfloat16, True, frozenset({"logits"}), "LM head in fp32"),
    "+residual+logits": (torch.bfloat16, True, frozenset({"residual", "logits"}), ""),
    "peftctl": (torch.bfloat16, True, frozenset({"library"}), "precision.prepare_base"),
}


def lora_model(model_name: str, layout: str) -> tuple[nn.Module, object]:
    """The default model with LoRA r=8 on q/v, prepared for ``layout``."""
    from peftctl.models.loading import load_model
    from peftctl.testing import make_method
    from peftctl.training import precision

    dtype, autocast, parts, _ = LAYOUTS[layout]
    model = load_model(model_name, dtype=dtype)
    if "library" in parts:
        precision.prepare_base(model, "bf16", "cpu")
    elif autocast:
        precision.tune_for_precision(model, "bf16", "cpu")
    method = make_method("lora", r=8, alpha=16, dropout=0.0, target_modules=["q_proj", "v_proj"])
    model = method.apply(model)
    precision.upcast_trainable(model)
    if "norms" in parts:
        for module in model.modules():
            if type(module).__name__.endswith("RMSNorm"):
                module.float()
    if "residual" in parts:
        precision.keep_residual_fp32(model, "bf16")
    return model.eval(), method


def logits_fn(layout: str, head: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    parts = LAYOUTS[layout][2]
    if "logits" in parts:
        weight = head.weight.float()
        return lambda hidden: _no_autocast(lambda: hidden.float() @ weight.T)
    return lambda hidden: head(hidden).float()


def _no_autocast(fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    with torch.autocast("cpu", enabled=False):
        return fn()


def forward(layout: str, model_name: str, batches: list[dict]) -> dict[str, torch.Tensor]:
    """Final hidden states and logits at labelled positions, per-token losses: all batches."""
    from peftctl.methods.base import causal_lm
    from peftctl.training.loss import SparseLMLoss

    model, method = lora_model(model_name, layout)
    loss = SparseLMLoss(model, method)
    logits_of = logits_fn(layout, causal_lm(model).get_output_embeddings())
    autocast = LAYOUTS[layout][1]
    hidden, logits, token_loss = [], [], []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for batch in batches:
            picked, targets = loss.target_states(**batch)
            batch_logits = logits_of(picked).float()
            hidden.append(picked.float())
            logits.append(batch_logits)
            token_loss.append(nn.functional.cross_entropy(batch_logits, targets, reduction="none"))
    return {
        "hidden": torch.cat(hidden),
        "logits": torch.cat(logits),
        "loss": torch.cat(token_loss),
        "residual dtype": _residual_dtype(model, method, batches[0], autocast),
    }


def _residual_dtype(model: nn.Module, method, batch: dict, autocast: bool) -> torch.dtype:
    """dtype of the residual stream after the first decoder layer."""
    from peftctl.methods.base import causal_lm

    seen = []
    layer = causal_lm(model).get_decoder().layers[0]
    handle = layer.register_forward_hook(lambda _m, _a, out: seen.append(_first(out).dtype))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        method.hidden_states(model, batch["input_ids"][:1], batch["attention_mask"][:1])
    handle.remove()
    return seen[0]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def load_batches(model_name: str, n_batches: int, batch_size: int) -> list[dict]:
    """The first ``n_batches`` of peftctl's first epoch on SST-2 training rows, padded."""
    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.loading import load_split
    from peftctl.datasets.tokenize import tokenize_examples
    from peftctl.models.loading import load_tokenizer
    from peftctl.training.batching import TokenData, collate, epoch_batches

    tokenizer = load_tokenizer(model_name)
    config = DatasetConfig(name="sst2", max_train_samples=n_batches * batch_size)
    tokens = tokenize_examples(load_split(config, "train", seed=0), tokenizer, config.cutoff_len)
    data = TokenData(tokens.input_ids, tokens.labels)
    plan = epoch_batches(data.lengths(), batch_size, seed=0, epoch=0)[:n_batches]
    return [collate(data, indices, tokenizer.pad_token_id) for indices in plan]


def report(results: dict[str, dict]) -> None:
    base = results["fp32"]
    n = base["loss"].numel()
    print(f"{n} labelled tokens; |x - fp32|: max / mean")
    header = f"{'layout':<24} {'residual':<9} {'hidden':>17} {'logits':>17} {'token loss':>17}"
    print(f"{header} {'mean loss':>9}")
    for name, result in results.items():
        cells = []
        for key in ("hidden", "logits", "loss"):
            diff = (result[key] - base[key]).abs()
            cells.append(f"{diff.max():8.2e} {diff.mean():8.2e}")
        mean_diff = (result["loss"].mean() - base["loss"].mean()).abs()
        dtype = str(result["residual dtype"]).removeprefix("torch.")
        print(f"{name:<24} {dtype:<9} {' '.join(cells)} {mean_diff:9.2e}  {LAYOUTS[name][3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="Comma-separated.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batches = load_batches(args.model, args.batches, args.batch_size)
    layouts = ["fp32", *(n for n in args.layouts.split(",") if n != "fp32")]
    report({name: forward(name, args.model, batches) for name in layouts})


if __name__ == "__main__":
    main()
