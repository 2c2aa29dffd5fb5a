"""An Ollama ``Modelfile`` for an exported GGUF: ``FROM`` the file, the chat template in
Ollama's Go-template syntax when the model's Jinja template is ChatML (SmolLM2's), its default
system prompt, and stop tokens.

Ollama cannot run Jinja. peftctl renders the model's template for a few conversations and writes
``TEMPLATE`` only if ChatML (as the Go template below renders it) gives the same text for all of
them; otherwise there is no ``TEMPLATE`` and Ollama falls back to the GGUF's
``tokenizer.chat_template`` (it recognises common ones)."""

from __future__ import annotations

from typing import Any

# Ollama passes system messages both as .System (joined) and inside .Messages.
CHATML_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- range .Messages }}{{- if ne .Role "system" }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}{{- end }}<|im_start|>assistant
"""
PROBES = (
    [{"role": "user", "content": "Hi there"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ],
)


def modelfile(gguf_name: str, tokenizer: Any) -> str:
    """The Modelfile text for ``./gguf_name`` (beside it) with ``tokenizer``'s chat format."""
    system = default_system_prompt(tokenizer)
    chatml = is_chatml(tokenizer, system)
    lines = [
        "# Written by `peftctl export --ollama`; run: ollama create NAME -f Modelfile",
        f"FROM ./{gguf_name}",
    ]
    if chatml:
        lines.append("# ChatML: renders as the model's chat template does (checked by peftctl)")
        lines.append(f'TEMPLATE """{CHATML_TEMPLATE}"""')
        if system:
            lines.append(f'SYSTEM """{system}"""')
    else:
        lines.append("# no TEMPLATE: the chat template is not ChatML; Ollama reads the GGUF's")
    lines += [f'PARAMETER stop "{stop}"' for stop in stop_tokens(tokenizer, chatml)]
    return "\n".join(lines) + "\n"


def render_chatml(system: str | None, messages: list[dict[str, str]]) -> str:
    """What :data:`CHATML_TEMPLATE` renders in Ollama (with a generation prompt)."""
    text = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    for message in messages:
        if message["role"] != "system":
            text += f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n"
    return text + "<|im_start|>assistant\n"


def default_system_prompt(tokenizer: Any) -> str | None:
    """The system prompt the template adds when a conversation has none (SmolLM2 has one)."""
    rendered = _render(tokenizer, PROBES[0])
    head = "<|im_start|>system\n"
    if rendered is None or not rendered.startswith(head) or "<|im_end|>" not in rendered:
        return None
    return rendered[len(head) : rendered.index("<|im_end|>")]


def is_chatml(tokenizer: Any, default_system: str | None) -> bool:
    """True when ChatML renders every probe conversation exactly as the Jinja template does."""
    for messages in PROBES:
        given = [m["content"] for m in messages if m["role"] == "system"]
        expected = render_chatml(given[0] if given else default_system, messages)
        if _render(tokenizer, messages) != expected:
            return False
    return True


def stop_tokens(tokenizer: Any, chatml: bool) -> list[str]:
    """Tokens that end a reply: ChatML's turn markers, and eos."""
    stops = ["<|im_end|>", "<|im_start|>"] if chatml else []
    if tokenizer.eos_token and tokenizer.eos_token not in stops:
        stops.append(tokenizer.eos_token)
    return stops


def _render(tokenizer: Any, messages: list[dict[str, str]]) -> str | None:
    if not isinstance(getattr(tokenizer, "chat_template", None), str):
        return None
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:  # a template that rejects a probe (e.g. no system role) is not ChatML
        return None
