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


def chat_tokenizer(backend, texts: list[str], vocab_size: int):
    """``backend`` (a byte-level ``tokenizers.Tokenizer``) trained on ``texts``, wrapped as a
    transformers tokenizer with ChatML specials and :data:`CHAT_TEMPLATE`."""
    from tokenizers import pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        chat_template=CHAT_TEMPLATE,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )


def save_tiny_model(folder, texts: list[str]) -> str:
    """A tiny Llama + byte-level BPE tokenizer with a chat template, saved to ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = chat_tokenizer(backend, texts, vocab_size=400)
    tiny_llama(vocab_size=len(tokenizer), tie_word_embeddings=True).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


PEFT_CONFIGS = {
    "lora": lambda peft: peft.LoraConfig(
        task_type="CAUSAL_LM", r=4, target_modules=["q_proj", "v_proj"]
    ),
    "prompt_tuning": lambda peft: peft.PromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4
    ),
    "mtp": lambda peft: peft.MultitaskPromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4, num_tasks=1, num_ranks=1
    ),
    "p_tuning_v2": lambda peft: peft.PrefixTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4, prefix_projection=False
    ),
    "ia3": lambda peft: peft.IA3Config(
        task_type="CAUSAL_LM",
        target_modules=["k_proj", "v_proj", "down_proj"],
        feedforward_modules=["down_proj"],
    ),
}


def save_random_adapter(
    model_dir: str, method: str, folder, *, seed: int = 0, scale: float = 0.5, r: int = 4
):
    """A run directory (``recipe.yaml`` + ``adapter/``) of ``method`` on ``model_dir`` whose
    trainable weights are random with standard deviation ``scale`` (no training: fast)."""
    import peft
    import torch
    import yaml
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    config = PEFT_CONFIGS[method](peft)
    if method == "lora":
        config.r = r
    model = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), config)
    with torch.no_grad():
        for _, param in model.named_parameters():
            if param.requires_grad:
                param.copy_(scale * torch.randn_like(param))
    folder.mkdir(parents=True)
    model.save_pretrained(str(folder / "adapter"))
    recipe = {"model": {"name": model_dir}, "method": {"name": method}}
    if method == "lora":
        recipe["method"]["r"] = r
    if hasattr(config, "num_virtual_tokens"):
        recipe["method"]["num_virtual_tokens"] = config.num_virtual_tokens
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return folder
