"""`peftctl chat`: a conversation with history; in a real terminal, answers stream as they are
generated, Ctrl-C stops an answer, /reset clears the history and /quit exits with code 0."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import sys
import time

import pytest


@pytest.fixture(scope="module")
def endless_model_dir(model_dir, tmp_path_factory) -> str:
    """:func:`model_dir` that never generates eos: every answer runs until it is stopped."""
    folder = tmp_path_factory.mktemp("endless-model")
    shutil.copytree(model_dir, folder, dirs_exist_ok=True)
    config = json.loads((folder / "generation_config.json").read_text())
    config["suppress_tokens"] = [config["eos_token_id"]]
    (folder / "generation_config.json").write_text(json.dumps(config))
    return str(folder)


class Terminal:
    """A command in a pseudo-terminal: what it prints is read back, keys are typed into it."""

    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a new session whose controlling terminal is the pty
            os.execvpe(argv[0], argv, {**os.environ, "OMP_NUM_THREADS": "1"})
        self.seen = ""

    def expect(self, text: str, timeout: float = 90) -> str:
        """Everything printed up to and including ``text`` (which must come within timeout)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} did not come; the terminal shows {self.seen[-400:]!r}"
            if select.select([self.fd], [], [], left)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the command exited
                    chunk = b""
                assert chunk, f"exited before {text!r}; the terminal shows {self.seen[-400:]!r}"
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        before, _, self.seen = self.seen.partition(text)
        return before + text

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, 9)
        raise AssertionError("the command did not exit")


def test_terminal_chat_streams_stops_resets_and_quits(cli, adapter_runs, endless_model_dir):
    adapter = ["--adapter", str(adapter_runs["lora"] / "adapter"), "--method", "lora"]
    model = ["--model", endless_model_dir, *adapter, "--precision", "fp32"]
    code, reference, err = cli("generate", *model, "--prompt", "hello", "--max-new-tokens", "300")
    assert code == 0, err

    argv = [sys.executable, "-m", "peftctl", "chat", *model, "--max-new-tokens", "100000"]
    terminal = Terminal(argv)
    terminal.expect("/reset clears the history")
    terminal.expect("> ")
    terminal.type("hello\n")
    terminal.expect("hello\n")  # the terminal's echo
    streamed = terminal.expect(reference[:12])  # answer text arrives while it is generated
    terminal.type("\x03")  # Ctrl-C: stop this answer
    rest = terminal.expect("(stopped)\n> ").replace("^C", "")  # the terminal echoes ^C
    shown = (streamed + rest).removesuffix("\n(stopped)\n> ")
    assert reference.startswith(shown) or shown.startswith(reference)  # the greedy answer
    terminal.type("/reset\n")
    terminal.expect("(history cleared)\n> ")
    terminal.type("/quit\n")
    assert terminal.exit_code() == 0


def test_history_is_kept_until_reset_and_end_of_input_exits(adapter_runs, capsys):
    from peftctl.evaluation.targets import inference_target
    from peftctl.inference import chat as chat_module
    from peftctl.inference.completion import load_talker

    talker = load_talker(
        *inference_target(str(adapter_runs["lora"]), overrides=["train.precision=fp32"])
    )
    typed = iter(["hello", "again", "/reset", "", "/help", "hello"])
    rendered: list[list[dict[str, str]]] = []

    def read(prompt: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    original = chat_module.encode_chat

    def spy(talker, messages):
        rendered.append([dict(m) for m in messages])
        return original(talker, messages)

    chat_module.encode_chat = spy
    try:
        chat_module.chat_loop(talker, max_new_tokens=6, read=read)
    finally:
        chat_module.encode_chat = original
    first, second, third = rendered
    assert first == [{"role": "user", "content": "hello"}]
    assert second[:1] == first and second[1]["role"] == "assistant"
    assert second[2] == {"role": "user", "content": "again"}
    assert third == first  # /reset forgot the conversation
    out = capsys.readouterr().out
    assert "(history cleared)" in out and "unknown command /help: /reset" in out
    answers = out.split("(history cleared)")
    assert second[1]["content"] in answers[0] and second[1]["content"] in answers[1]
