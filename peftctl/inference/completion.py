"""One answer from a base model, or a base model with an adapter, loaded as evaluation
loads it; prompts are rendered with the chat template as training renders them."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from peftctl.config.schema import RecipeConfig
from peftctl.errors import PeftctlError
from peftctl.evaluation.runner import Candidate


@dataclass
class Talker:
    """A model ready for inference, with its tokenizer and method (None for a bare base)."""

    name: str
    model: Any
    tokenizer: Any
    method: Any = None


def load_talker(config: RecipeConfig, candidate: Candidate) -> Talker:
    """``config.model`` with ``candidate``'s adapter, exactly as ``peftctl eval`` loads it."""
    from peftctl.evaluation.runner import inference_device, load_base, load_candidate

    device_type, precision = inference_device(config)
    tokenizer, base = load_base(config, precision, device_type)
    method, model, _ = load_candidate(base, candidate, precision)
    return Talker(config.model.name, model, tokenizer, method)


def encode_prompt(talker: Talker, prompt: str, *, raw: bool = False) -> list[int]:
    """Token ids of ``prompt``: the user turn as training renders it, or (``raw``) the text
    as it is."""
    if raw:
        return talker.tokenizer(prompt, add_special_tokens=True).input_ids
    from peftctl.datasets.tokenize import encode_prompt as training_prompt

    return training_prompt(talker.tokenizer, prompt)


def encode_chat(talker: Talker, messages: Sequence[dict[str, str]]) -> list[int]:
    """Token ids of a conversation rendered with the chat template, ready for the answer."""
    check_chat_template(talker)
    tokenizer = talker.tokenizer
    text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False).input_ids


def check_chat_template(talker: Talker) -> None:
    """A one-line error when the model's tokenizer has no chat template."""
    if not getattr(talker.tokenizer, "chat_template", None):
        raise PeftctlError(
            f"model '{talker.name}' has no chat template, so it cannot chat; use "
            "`peftctl generate --raw --prompt TEXT`"
        )


def complete(
    talker: Talker,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    streamer: Any = None,
    stop: threading.Event | None = None,
    ignore_eos: bool = False,
) -> str:
    """The answer to ``prompt_ids`` (greedy at temperature 0, else sampled), up to eos
    (``ignore_eos``: exactly ``max_new_tokens``, eos never picked).

    ``streamer`` receives tokens as they are generated; setting ``stop`` ends the answer
    after the current token.
    """
    from peftctl.evaluation.generation import until_eos

    if temperature < 0:
        raise PeftctlError(f"--temperature must be >= 0, not {temperature}")
    model, tokenizer = talker.model, talker.tokenizer
    device = next(model.parameters()).device
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)
    extra = talker.method.generation_kwargs(1) if talker.method is not None else {}
    sampling: dict[str, Any] = {"do_sample": True, "temperature": temperature}
    if temperature == 0:
        sampling = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    with torch.inference_mode():
        output = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([StopOnEvent(stop)] if stop else []),
            min_new_tokens=max_new_tokens if ignore_eos else None,
            **sampling,
            **{key: value.to(device) for key, value in extra.items()},
        )
    new_tokens = until_eos(output[0, ids.shape[1] :].tolist(), tokenizer.eos_token_id)
    return tokenizer.decode(new_tokens, skip_special_tokens=True)


@contextlib.contextmanager
def ctrl_c_sets(event: threading.Event) -> Iterator[threading.Event]:
    """Within the block, Ctrl-C (SIGINT) sets ``event`` instead of raising
    KeyboardInterrupt; the previous handler comes back afterwards."""
    event.clear()
    previous = signal.signal(signal.SIGINT, lambda *_: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


class StopOnEvent(StoppingCriteria):
    """Stops generation once ``event`` is set (by Ctrl-C, see :func:`ctrl_c_sets`)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)
