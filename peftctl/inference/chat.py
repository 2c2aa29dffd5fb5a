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
    while True:
        try:
            text = read(PROMPT).strip()
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            print(f"\n({QUIT} or Ctrl-D exits)")
            continue
        if text == QUIT:
            return
        if text == RESET:
            messages.clear()
            print("(history cleared)")
            continue
        if not text:
            continue
        messages.append({"role": "user", "content": text})
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
        messages.append({"role": "assistant", "content": answer})
