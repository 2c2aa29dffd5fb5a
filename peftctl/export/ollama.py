"""An Ollama ``Modelfile`` for an exported GGUF: ``FROM`` the file, the chat template in
Ollama's Go-template syntax where it is ChatML (SmolLM2's), and stop tokens.

Ollama cannot run Jinja; a template that is not ChatML gets no ``TEMPLATE`` line, and Ollama
falls back to the ``tokenizer.chat_template`` stored in the GGUF (it recognises common ones)."""

from __future__ import annotations

from typing import Any

CHATML_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""


def modelfile(gguf_name: str, tokenizer: Any) -> str:
    """The Modelfile text for ``./gguf_name`` (beside it) with ``tokenizer``'s chat format."""
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    chatml = is_chatml(template)
    lines = [
        "# Written by `peftctl export --ollama`; run: ollama create NAME -f Modelfile",
        f"FROM ./{gguf_name}",
    ]
    if chatml:
        lines.append("# ChatML, as the model's chat template (Go-template form for Ollama)")
        lines.append(f'TEMPLATE """{CHATML_TEMPLATE}"""')
    else:
        lines.append("# no TEMPLATE: the chat template is not ChatML; Ollama reads the GGUF's")
    for stop in stop_tokens(tokenizer, chatml):
        lines.append(f'PARAMETER stop "{stop}"')
    return "\n".join(lines) + "\n"


def is_chatml(template: str) -> bool:
    """True for a ChatML template: turns framed by ``<|im_start|>role`` and ``<|im_end|>``."""
    return all(marker in template for marker in ("<|im_start|>", "<|im_end|>", "role"))


def stop_tokens(tokenizer: Any, chatml: bool) -> list[str]:
    """Tokens that end a reply: eos, and ChatML's turn markers."""
    stops = ["<|im_end|>", "<|im_start|>"] if chatml else []
    if tokenizer.eos_token and tokenizer.eos_token not in stops:
        stops.append(tokenizer.eos_token)
    return stops
