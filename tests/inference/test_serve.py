"""`peftctl serve`, driven as clients drive it: the official `openai` client (and raw HTTP
where the client hides the status) against a real server on a free loopback port. Answers
equal `peftctl generate`'s greedy ones for LoRA and prompt-based adapters."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.training.tiny import save_random_adapter

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

PROMPT = "the movie was great"
KEY = "test-key"
FP32_12 = ("--precision", "fp32", "--max-new-tokens", "12")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_dir, adapter_runs, tmp_path_factory):
    from peftctl.config.recipe import build_recipe
    from peftctl.serve.api import ServerOptions
    from peftctl.serve.server import BackgroundServer, ServeSettings, load_models

    config = build_recipe({"model": {"name": model_dir}}, ["train.precision=fp32"])
    named = [("lora", str(adapter_runs["lora"])), ("prompt", str(adapter_runs["prompt_tuning"]))]
    named.append(("mtp", str(adapter_runs["mtp"] / "adapter")))
    named.append(("prefix", str(adapter_runs["p_tuning_v2"])))
    named.append(("ia3", str(adapter_runs["ia3"])))
    other = save_random_adapter(model_dir, "lora", tmp_path_factory.mktemp("lora2") / "run", seed=1)
    named.append(("lora2", str(other)))
    models = load_models(config, named)
    options = ServerOptions(api_key=KEY, max_tokens_limit=512, max_body_bytes=64 * 1024)
    settings = ServeSettings("127.0.0.1", free_port(), max_batch=4, options=options)
    running = BackgroundServer(models, settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)


def post(server, path: str, body: dict, key: str = KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=60)


def generated(cli, run, *, raw: bool) -> str:
    code, out, err = cli("generate", str(run), "--prompt", PROMPT, *(("--raw",) * raw), *FP32_12)
    assert code == 0, err
    return out.removesuffix("\n")


def test_models_lists_the_base_and_every_adapter(client, model_dir):
    cards = {card.id: card for card in client.models.list().data}
    assert set(cards) == {model_dir, "lora", "lora2", "ia3", "prompt", "mtp", "prefix"}
    assert cards["lora"].owned_by == "peftctl" and cards["lora"].parent == model_dir


@pytest.mark.parametrize(
    ("served", "method"),
    [("lora", "lora"), ("prompt", "prompt_tuning"), ("prefix", "p_tuning_v2")],
)
def test_completion_is_generates_greedy_answer(client, cli, adapter_runs, served, method):
    expected = generated(cli, adapter_runs[method], raw=True)
    answer = client.completions.create(model=served, prompt=PROMPT, max_tokens=12, temperature=0)
    assert answer.choices[0].text == expected
    prompt_tokens = answer.usage.prompt_tokens
    assert (
        prompt_tokens > 0
        and answer.usage.total_tokens == prompt_tokens + answer.usage.completion_tokens
    )


@pytest.mark.parametrize(
    ("served", "method"), [("lora", "lora"), ("prompt", "prompt_tuning"), ("mtp", "mtp")]
)
def test_streamed_chat_is_generates_greedy_answer(client, cli, adapter_runs, served, method):
    expected = generated(cli, adapter_runs[method], raw=False)
    stream = client.chat.completions.create(
        model=served,
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=12,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected and len(chunks) > 3
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].usage.completion_tokens > 0


def test_base_colon_adapter_and_the_base_itself(client, model_dir, cli):
    whole = client.completions.create(
        model=f"{model_dir}:lora", prompt=PROMPT, max_tokens=6, temperature=0
    )
    alone = client.completions.create(model="lora", prompt=PROMPT, max_tokens=6, temperature=0)
    assert whole.choices[0].text == alone.choices[0].text
    base = client.completions.create(model=model_dir, prompt=PROMPT, max_tokens=12, temperature=0)
    code, out, err = cli("generate", "--model", model_dir, "--prompt", PROMPT, "--raw", *FP32_12)
    assert code == 0 and base.choices[0].text == out.removesuffix("\n"), err


def test_concurrent_requests_are_batched_and_answer_as_alone(client, server, model_dir):
    """LoRA adapters, prompt tuning and the base share the base's lane (each row its own
    adapter), IA3 decodes in its own, a prefix per request: all answer as alone."""
    prompts = [PROMPT, "a dull film", "I loved it", "bad acting and a long plot"]

    def ask(item: tuple[str, str]) -> str:
        served, prompt = item
        answer = client.completions.create(
            model=served, prompt=prompt, max_tokens=10, temperature=0
        )
        return answer.choices[0].text

    shared = [(m, p) for m in ("lora", "lora2", "prompt", model_dir) for p in prompts[:2]]
    apart = [(m, p) for m in ("ia3", "prefix") for p in prompts]
    alone = {item: ask(item) for item in shared + apart}
    with ThreadPoolExecutor(8) as pool:
        together, rows = _rows_per_step(server, lambda: list(pool.map(ask, shared)))
        assert together == [alone[item] for item in shared]
        assert rows > 2.5  # a lane per adapter would decode 2 rows per step at most
        assert list(pool.map(ask, apart)) == [alone[item] for item in apart]


def _rows_per_step(server, run):
    """What ``run()`` returns, and the mean rows per decoding step while it ran."""
    rows, steps = (_metric(server, f"peftctl_batch_size_{part}") for part in ("sum", "count"))
    result = run()
    rows = _metric(server, "peftctl_batch_size_sum") - rows
    return result, rows / (_metric(server, "peftctl_batch_size_count") - steps)


def test_lora_and_prompt_adapters_decode_on_the_bases_lane_prefixes_per_request(server, model_dir):
    models = server.engine.models
    assert models.get("lora").mixed and models.get("lora2").mixed
    lanes = {name: models.get(name).lane_name for name in ("lora", "lora2", "prompt", "mtp")}
    assert set(lanes.values()) == {model_dir}, lanes
    assert models.get("ia3").continuous and models.get("ia3").lane_name == "ia3"
    prefix = models.get("prefix")
    assert not prefix.continuous and prefix.lane_name == "prefix"


def test_a_seed_makes_sampling_repeatable(client):
    ask = dict(model="lora", prompt=PROMPT, max_tokens=12, temperature=1.5, seed=7)
    first, second = (client.completions.create(**ask).choices[0].text for _ in range(2))
    assert first == second


def test_adapters_load_and_unload_at_runtime(client, server, adapter_runs, tmp_path):
    answer = post(
        server,
        "/v1/load_lora_adapter",
        {"lora_name": "again", "lora_path": str(adapter_runs["lora"])},
    )
    assert answer.status_code == 200, answer.text
    assert "again" in {card.id for card in client.models.list().data}
    ask = dict(prompt=PROMPT, max_tokens=8, temperature=0)
    assert client.completions.create(model="again", **ask).choices[0].text == (
        client.completions.create(model="lora", **ask).choices[0].text
    )
    taken = post(
        server,
        "/v1/load_lora_adapter",
        {"lora_name": "again", "lora_path": str(adapter_runs["lora"])},
    )
    assert taken.status_code == 400 and "already loaded" in taken.json()["error"]["message"]
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "again"}).status_code == 200
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="again", **ask)
    assert post(server, "/v1/unload_lora_adapter", {"lora_name": "again"}).status_code == 404
    missing = post(server, "/v1/load_lora_adapter", {"lora_name": "x", "lora_path": str(tmp_path)})
    assert (
        missing.status_code == 400 and "not a run directory" in missing.json()["error"]["message"]
    )


def test_a_run_on_another_base_is_refused(server, tmp_path):
    import yaml

    run = tmp_path / "other"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "recipe.yaml").write_text(
        yaml.safe_dump({"model": {"name": "example-org/other"}, "method": {"name": "lora"}})
    )
    answer = post(server, "/v1/load_lora_adapter", {"lora_name": "other", "lora_path": str(run)})
    assert answer.status_code == 400
    assert "was trained on example-org/other" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "nope", "prompt": "x"}, 404, "model 'nope' is not served"),
        ({"model": "lora", "prompt": "x", "temperature": 5}, 400, "temperature"),
        ({"model": "lora", "prompt": "x", "max_tokens": 100000}, 400, "above this server's limit"),
        ({"model": "lora", "prompt": "x", "n": 2}, 400, "n=1"),
        ({"model": "lora"}, 400, "prompt"),
        ({"model": "lora", "prompt": "x" * 70000}, 413, "larger than"),
    ],
    ids=["unknown-model", "temperature", "max-tokens", "n", "no-prompt", "too-large"],
)
def test_errors_are_openai_error_objects(server, body, status, words):
    answer = post(server, "/v1/completions", body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert words in error["message"] and set(error) == {"message", "type", "param", "code"}


def test_a_full_queue_answers_429_and_the_client_says_so(client, server, monkeypatch):
    monkeypatch.setattr(server.engine, "max_queue", 0)
    with pytest.raises(openai.RateLimitError):
        client.completions.create(model="lora", prompt=PROMPT, max_tokens=4)


def test_the_api_key_is_enforced(server):
    wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    assert httpx.get(f"{server.url}/health").status_code == 200  # health needs no key
    assert httpx.get(f"{server.url}/metrics").status_code == 401


def test_a_client_that_leaves_a_stream_frees_its_slot(server):
    tokens_before = _metric(server, 'peftctl_generated_tokens_total{model="prompt"}')
    body = {
        "model": "prompt",
        "prompt": PROMPT,
        "max_tokens": 500,
        "ignore_eos": True,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream("POST", f"{server.url}/v1/completions", json=body, headers=headers) as reply:
        lines = reply.iter_lines()
        assert next(line for line in lines if line.startswith("data:"))
    deadline = time.monotonic() + 20
    while server.engine.decoding() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.engine.decoding() == 0  # the row is freed long before 500 tokens
    generated = _metric(server, 'peftctl_generated_tokens_total{model="prompt"}') - tokens_before
    assert 0 < generated < 500


def test_ignore_eos_answers_exactly_max_tokens(client):
    answer = client.completions.create(
        model="lora", prompt=PROMPT, max_tokens=20, extra_body={"ignore_eos": True}
    )
    assert answer.usage.completion_tokens == 20 and answer.choices[0].finish_reason == "length"


def test_stop_strings_end_the_answer_before_them(client):
    full = client.completions.create(model="lora", prompt=PROMPT, max_tokens=12, temperature=0)
    text = full.choices[0].text
    stop = text.strip()[2:4] if len(text.strip()) > 4 else None
    if stop is None:
        pytest.skip(f"the answer {text!r} is too short to cut")
    cut = client.completions.create(
        model="lora", prompt=PROMPT, max_tokens=12, temperature=0, stop=[stop]
    )
    assert cut.choices[0].text == text[: text.find(stop)] and cut.choices[0].finish_reason == "stop"


def test_metrics_are_prometheus_text(server):
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    for name in ("peftctl_requests_total", "peftctl_queue_length", "peftctl_tokens_per_second"):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def _metric(server, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    values = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")
    ]
    return values[0] if values else 0.0


# -- the command ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0 is reachable from other machines: pass --api-key"),
        (["a=/nowhere", "a=/elsewhere"], "two adapters are named 'a'"),
        (["=/nowhere"], "write NAME=RUN_DIR or RUN_DIR"),
    ],
)
def test_serve_mistakes_are_one_line(cli, argv, words):
    code, out, err = cli("serve", *argv)
    assert (code, out) == (2, "") and words in err and err.count("\n") == 1


def test_serve_refuses_a_missing_run_and_another_base_in_one_line(cli, adapter_runs, tmp_path):
    code, _, err = cli("serve", str(tmp_path / "missing"))
    assert code == 2 and "not a run directory" in err and err.count("\n") == 1
    argv = ["serve", str(adapter_runs["lora"]), "--model", "example-org/other"]
    code, _, err = cli(*argv, "--port", str(free_port()))
    assert code == 2 and "serve it with --model" in err and err.count("\n") == 1


def test_ctrl_c_answers_the_requests_in_flight_then_exits(adapter_runs, tmp_path):
    """The real command in a subprocess: SIGINT during a streamed answer lets it finish."""
    import signal
    import subprocess
    import sys

    port = free_port()
    argv = [sys.executable, "-m", "peftctl", "serve", f"lora={adapter_runs['lora']}"]
    argv += ["--port", str(port), "--precision", "fp32"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        _wait_healthy(port, process)
        body = {
            "model": "lora",
            "prompt": PROMPT,
            "max_tokens": 60,
            "ignore_eos": True,
            "stream": True,
        }
        url = f"http://127.0.0.1:{port}/v1/completions"
        with httpx.stream("POST", url, json=body, timeout=60) as reply:
            lines = reply.iter_lines()
            assert next(line for line in lines if line.startswith("data:"))
            process.send_signal(signal.SIGINT)
            rest = list(lines)
        assert "data: [DONE]" in rest
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    err = process.stderr.read()
    assert "serving lora" not in err and "serving" in err and "stopped:" in err
    assert "Traceback" not in err


def _wait_healthy(port: int, process) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(
        f"the server did not start: {process.stderr.read() if process.poll() is not None else ''}"
    )
