"""The ``peftctl chat`` loop: a conversation with history, each answer streamed as it is
generated. ``/reset`` clears the history, ``/quit`` or end of input exits, Ctrl-C during an
answer stops that answer."""

from __future__ import annotations

import threading
from collections.abc import Callable

from transformers import TextStreamer

from peftctl.inference.completion import (
    Talker,
    check_chat_template,
    complete,
    ctrl_c_sets,
    encode_chat,
)

PROMPT = "> "
RESET, QUIT = "/reset", "/quit"


def chat_loop(
    talker: Talker,
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    read: Callable[[str], str] = input,
) -> None:
    """Converse until ``/quit`` or end of input; answers go to stdout as they come."""
    check_chat_template(talker)
    print(
        f"chat with {talker.name}: {RESET} clears the history, {QUIT} or Ctrl-D exits, "
        "Ctrl-C stops an answer"
    )
    messages: list[dict[str, str]] = []
    stop = threading.Event()
    while (text := _next_line(read)) is not None and text != QUIT:
        if text and not _command(text, messages):
            messages.append({"role": "user", "content": text})
            answer = _answer(talker, messages, stop, max_new_tokens, temperature)
            messages.append({"role": "assistant", "content": answer})


def _next_line(read: Callable[[str], str]) -> str | None:
    """The next line typed, stripped: "" after Ctrl-C, None at end of input."""
    try:
        return read(PROMPT).strip()
    except EOFError:
        print()
        return None
    except KeyboardInterrupt:
        print(f"\n({QUIT} or Ctrl-D exits)")
        return ""


def _command(text: str, messages: list[dict[str, str]]) -> bool:
    """Carry out ``/reset`` (or refuse an unknown ``/word``); False for a message."""
    if text == RESET:
        messages.clear()
        print("(history cleared)")
        return True
    if text.startswith("/") and " " not in text:
        print(f"unknown command {text}: {RESET} clears the history, {QUIT} exits")
        return True
    return False


def _answer(
    talker: Talker,
    messages: list[dict[str, str]],
    stop: threading.Event,
    max_new_tokens: int,
    temperature: float,
) -> str:
    """The answer to the conversation, streamed to stdout; Ctrl-C ends it early."""
    streamer = TextStreamer(talker.tokenizer, skip_prompt=True, skip_special_tokens=True)
    with ctrl_c_sets(stop):
        answer = complete(
            talker,
            encode_chat(talker, messages),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            streamer=streamer,
            stop=stop,
        )
    if stop.is_set():
        print("(stopped)")
    return answer
