"""Synthetic token data and a tiny model on disk for the training tests (the tiny model itself
is :func:`peftctl.testing.tiny_llama`, the one builder every test uses)."""

from __future__ import annotations

from peftctl.testing import tiny_llama

#: Token ids of the synthetic data are below this (the trainer tests' model vocabulary).
VOCAB = 96


def token_data(n: int = 48, seed: int = 1):
    """Prompt/response-like examples: loss only on the last 2 tokens of each."""
    import torch

    from peftctl.training.batching import TokenData

    g = torch.Generator().manual_seed(seed)
    ids = []
    for _ in range(n):
        length = int(torch.randint(5, 24, (1,), generator=g))
        ids.append(torch.randint(3, VOCAB, (length,), generator=g).tolist())
    labels = [[-100] * (len(x) - 2) + x[-2:] for x in ids]
    return TokenData(ids, labels)


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def save_tiny_model(folder, texts: list[str]) -> str:
    """A tiny Llama + byte-level BPE tokenizer with a chat template, saved to ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        chat_template=CHAT_TEMPLATE,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    tiny_llama(vocab_size=len(tokenizer), tie_word_embeddings=True).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
