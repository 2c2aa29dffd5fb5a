"""Evaluation throughput on SST-2 validation with the default model, in one process:

(a) the peer tool's way: ``generate`` per batch in dataset order, ``max_new_tokens=1024``;
(b) ``peftctl eval`` generate mode (length-sorted batches, a task-sized ``max_new_tokens``);
(c) ``peftctl eval`` rank mode (one pass per prompt, candidates share its KV cache).

(a) is slow, so it runs on the first ``--baseline-limit`` examples; examples/s compare. All
three are scored with the same parser, so the zero-shot accuracies are comparable.

Run: python benchmarks/eval_throughput.py [--limit 872] [--baseline-limit 48] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import time


def baseline(model, tokenizer, examples, batch_size: int, spec) -> tuple[float, float]:
    """Examples/s and accuracy of per-batch ``generate`` with max_new_tokens=1024."""
    import torch

    from peftctl.datasets.tokenize import encode_prompts
    from peftctl.evaluation.generation import left_pad
    from peftctl.metrics.parsing import parser_for

    parse = parser_for(spec)
    prompts = encode_prompts(tokenizer, [ex.prompt for ex in examples])
    correct, started = 0, time.perf_counter()
    for start in range(0, len(prompts), batch_size):
        ids, mask = left_pad(prompts[start : start + batch_size], tokenizer.pad_token_id)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=1024,
                do_sample=False,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        texts = tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)
        batch = examples[start : start + batch_size]
        correct += sum(parse(t) == ex.target for t, ex in zip(texts, batch, strict=True))
    seconds = time.perf_counter() - started
    return len(examples) / seconds, correct / len(examples)


def ours(model, tokenizer, examples, batch_size: int, spec, mode: str) -> tuple[float, float]:
    from peftctl.evaluation.predict import predict

    started = time.perf_counter()
    got = predict(model, None, tokenizer, examples, spec, mode=mode, batch_size=batch_size)
    seconds = time.perf_counter() - started
    return len(examples) / seconds, sum(bool(p.correct) for p in got) / len(got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=872, help="examples for (b) and (c)")
    parser.add_argument("--baseline-limit", type=int, default=48, help="examples for (a)")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import torch

    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.loading import dataset_spec, load_split
    from peftctl.facts.names import DEFAULT_MODEL
    from peftctl.hardware import choose_precision, cpu_capabilities
    from peftctl.memory import peak_rss_bytes
    from peftctl.models.loading import base_dtype, load_model, load_tokenizer

    precision = choose_precision("auto", "cpu")
    tokenizer = load_tokenizer(DEFAULT_MODEL)
    model = load_model(DEFAULT_MODEL, dtype=base_dtype(precision)).eval()
    cfg = DatasetConfig(name="sst2")
    examples, spec = load_split(cfg, "eval")[: args.limit], dataset_spec(cfg)
    print(f"cpu {cpu_capabilities()['cpu_model']}, precision {precision}, "
          f"threads {torch.get_num_threads()}, batch {args.batch_size}")  # fmt: skip
    rows = [
        ("(a) generate, max_new_tokens=1024, dataset order", examples[: args.baseline_limit],
         lambda ex: baseline(model, tokenizer, ex, args.batch_size, spec)),
        ("(b) peftctl eval --mode generate", examples,
         lambda ex: ours(model, tokenizer, ex, args.batch_size, spec, "generate")),
        ("(c) peftctl eval --mode rank", examples,
         lambda ex: ours(model, tokenizer, ex, args.batch_size, spec, "rank")),
    ]  # fmt: skip
    results = []
    for name, subset, measure in rows:
        speed, accuracy = measure(subset)
        results.append((name, len(subset), speed, accuracy))
        print(f"{name:<52} n={len(subset):>4}  {speed:8.3f} ex/s  accuracy {accuracy:.4f}")
    base_speed = results[0][2]
    for name, _, speed, _ in results[1:]:
        print(f"{name}: {speed / base_speed:.1f}x (a)")
    print(f"peak RSS {peak_rss_bytes() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
