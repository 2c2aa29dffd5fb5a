"""`peftctl generate`: the answer is the greedy continuation of the chat-rendered prompt by the
base model with the run's adapter, for LoRA and prompt-based methods alike."""

from __future__ import annotations

import io

import pytest
import torch

PROMPT = "the movie was great"
FP32_12 = ("--precision", "fp32", "--max-new-tokens", "12")  # fp32: as computed here


def expected_answer(model_dir: str, adapter_dir, prompt: str, *, raw: bool = False) -> str:
    """Greedy answer computed here with transformers and peft, not with peftctl, and without
    ``generate`` (peft 0.21's loses the prompt after the first token on transformers >= 5.24):
    each token is the argmax of peft's forward pass over the whole sequence so far."""
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    extra = {}
    if adapter_dir is not None:
        model = PeftModel.from_pretrained(model, str(adapter_dir))
        if PeftConfig.from_pretrained(str(adapter_dir)).peft_type == "MULTITASK_PROMPT_TUNING":
            extra["task_ids"] = torch.zeros(1, dtype=torch.long)
    if raw:
        ids = tokenizer(prompt).input_ids
    else:
        messages = [{"role": "user", "content": prompt}]
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)
    sequence, new = list(ids), []
    with torch.no_grad():
        for _ in range(12):
            tokens = torch.tensor([sequence])
            logits = model(input_ids=tokens, attention_mask=torch.ones_like(tokens), **extra).logits
            token = int(logits[0, -1].argmax())
            if token == tokenizer.eos_token_id:
                break
            sequence.append(token)
            new.append(token)
    return tokenizer.decode(new, skip_special_tokens=True)


@pytest.mark.parametrize("method", ["lora", "prompt_tuning", "mtp"])
def test_run_answer_is_the_adapted_models_greedy_answer(cli, adapter_runs, model_dir, method):
    run = adapter_runs[method]
    code, out, err = cli("generate", str(run), "--prompt", PROMPT, *FP32_12)
    assert code == 0, err
    expected = expected_answer(model_dir, run / "adapter", PROMPT)
    assert out == expected + "\n"
    assert expected != expected_answer(model_dir, None, PROMPT), "the adapter changes nothing"


def test_model_with_bare_adapter_raw_prompt_from_stdin(cli, adapter_runs, model_dir, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PROMPT + "\n"))
    adapter = adapter_runs["lora"] / "adapter"
    argv = ["--model", model_dir, "--adapter", str(adapter), "--method", "lora"]
    code, out, err = cli("generate", *argv, "--prompt", "-", "--raw", *FP32_12)
    assert code == 0, err
    assert out == expected_answer(model_dir, adapter, PROMPT, raw=True) + "\n"


def test_base_model_alone_and_sampling_runs(cli, model_dir):
    code, out, err = cli("generate", "--model", model_dir, "--prompt", PROMPT, *FP32_12)
    assert code == 0, err
    assert out == expected_answer(model_dir, None, PROMPT) + "\n"
    code, _, err = cli("generate", "-m", model_dir, "-p", PROMPT, "--temperature", "1.5")
    assert code == 0, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["RUN", "--model", "x"], "RUN_DIR brings its own model and adapter"),
        (["--method", "lora"], "--method names the method of an --adapter"),
        (["--adapter", "/no/such/dir"], "--adapter /no/such/dir: no such directory"),
        (["RUN", "--prompt", " "], "the prompt is empty"),
    ],
)
def test_mistakes_are_one_line_before_loading(cli, adapter_runs, argv, message):
    argv = [str(adapter_runs["lora"]) if a == "RUN" else a for a in argv]
    if "--prompt" not in argv:
        argv += ["--prompt", "hi"]
    code, out, err = cli("generate", *argv)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
