"""Forgetting: how much worse the adapted model predicts general text than the base model.

The text is ``general_text.txt`` beside this file: about 550 words of public-domain English
prose (the Gettysburg Address, the opening of the Declaration of Independence, and the first
lines of A Tale of Two Cities, Pride and Prejudice, Moby-Dick and Anna Karenina). Forgetting
is the mean token cross-entropy with the adapter on minus the same with it off (nats/token;
positive = the adapter made general text less likely).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEXT_FILE = Path(__file__).with_name("general_text.txt")
TEXT_NAME = "peftctl general_text.txt (public-domain English prose, 6 passages)"


def general_passages() -> list[str]:
    """The passages of the fixed general text, one per paragraph."""
    text = TEXT_FILE.read_text(encoding="utf-8")
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def mean_cross_entropy(model: Any, tokenizer: Any, passages: list[str], extra: Any = None) -> float:
    """Mean next-token cross-entropy of ``model`` over ``passages`` (one at a time, no padding);
    ``extra(batch)`` gives a method's extra forward inputs (e.g. MTP task ids)."""
    import torch

    device = next(model.parameters()).device
    total, count = 0.0, 0
    with torch.inference_mode():
        for passage in passages:
            ids = tokenizer(passage, return_tensors="pt").input_ids[:, :512].to(device)
            kwargs = extra(1) if extra is not None else {}
            out = model(input_ids=ids, labels=ids, **kwargs)
            n = ids.shape[1] - 1
            total += float(out.loss) * n
            count += n
    return total / max(count, 1)


def forgetting(config: Any, adapter_dir: Path) -> dict[str, Any]:
    """Cross-entropy on the general text with and without the adapter of a finished run,
    loaded as ``peftctl eval`` loads it (same device, precision and adapter handling)."""
    from peftctl.evaluation.runner import Candidate, inference_device, load_base, load_candidate

    device_type, precision = inference_device(config)
    tokenizer, model = load_base(config, precision, device_type)
    passages = general_passages()
    base = mean_cross_entropy(model, tokenizer, passages)
    candidate = Candidate("forgetting", adapter_dir.parent, adapter_dir, config.method)
    method, adapted_model, _ = load_candidate(model, candidate, precision)
    adapted = mean_cross_entropy(adapted_model, tokenizer, passages, method.generation_kwargs)
    tokens = sum(len(tokenizer(p).input_ids[:512]) for p in passages)
    return {
        "text": TEXT_NAME,
        "tokens": tokens,
        "base_loss": round(base, 5),
        "adapted_loss": round(adapted, 5),
        "increase": round(adapted - base, 5),
    }
