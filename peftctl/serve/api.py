"""The HTTP surface of ``peftctl serve``: OpenAI's models, completions and chat completions
(``stream`` as server-sent events), vLLM's adapter load/unload endpoints, ``/health`` and
``/metrics``. Every error is an OpenAI error object with the fitting status, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from peftctl.errors import PeftctlError
from peftctl.serve.adapters import ServedModels
from peftctl.serve.engine import Engine, Job, Overloaded, Sampling
from peftctl.serve.limits import BodyLimit
from peftctl.serve.metrics import ServerMetrics
from peftctl.serve.schema import (
    ApiError,
    ChatRequest,
    CompletionRequest,
    LoadAdapter,
    Sampled,
    UnloadAdapter,
)

#: how often a waiting non-streamed request checks that its client is still there
DISCONNECT_POLL_S = 0.5


@dataclass
class ServerOptions:
    """What a server enforces besides its models."""

    api_key: str | None = None
    max_tokens_limit: int = 2048
    max_body_bytes: int = 1 << 20


def build_app(
    models: ServedModels, engine: Engine, metrics: ServerMetrics, options: ServerOptions
) -> FastAPI:
    """The ASGI app serving ``models`` through ``engine``."""
    app = FastAPI(title="peftctl serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, max_bytes=options.max_body_bytes)
    _add_error_handlers(app, metrics)
    authorised = Depends(_api_key_check(options.api_key))
    context = _Context(models, engine, metrics, options)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", dependencies=[authorised])
    async def prometheus() -> Response:
        return Response(metrics.text(), media_type="text/plain; version=0.0.4")

    @app.get("/v1/models", dependencies=[authorised])
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [context.model_card(n) for n in models.names()]}

    @app.post("/v1/completions", dependencies=[authorised])
    async def completions(body: CompletionRequest, request: Request) -> Response:
        return await context.answer(body, request, chat=False)

    @app.post("/v1/chat/completions", dependencies=[authorised])
    async def chat_completions(body: ChatRequest, request: Request) -> Response:
        return await context.answer(body, request, chat=True)

    @app.post("/v1/load_lora_adapter", dependencies=[authorised])
    async def load_adapter(body: LoadAdapter) -> Response:
        await context.load(body.lora_name, body.lora_path)
        return PlainTextResponse(f"Success: adapter '{body.lora_name}' added successfully.")

    @app.post("/v1/unload_lora_adapter", dependencies=[authorised])
    async def unload_adapter(body: UnloadAdapter) -> Response:
        try:
            models.remove(body.lora_name)
        except PeftctlError as error:
            raise ApiError(404, str(error), param="lora_name", code="model_not_found") from None
        return PlainTextResponse(f"Success: adapter '{body.lora_name}' removed successfully.")

    return app


def _api_key_check(api_key: str | None) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        if header != f"Bearer {api_key}":
            raise ApiError(
                401,
                "missing or wrong API key: send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
            )

    return check


def _add_error_handlers(app: FastAPI, metrics: ServerMetrics) -> None:
    def answer(request: Request, error: ApiError) -> JSONResponse:
        metrics.requests.labels(endpoint=request.url.path, status=str(error.status)).inc()
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return answer(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return answer(request, ApiError(400, message, param=where))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return answer(request, ApiError(error.status_code, str(error.detail)))


class _Context:
    """What the handlers share: models, engine, limits; turns requests into jobs."""

    def __init__(
        self, models: ServedModels, engine: Engine, metrics: ServerMetrics, options: ServerOptions
    ) -> None:
        self.models, self.engine, self.metrics, self.options = models, engine, metrics, options
        self.started = int(time.time())
        config = getattr(models.base, "config", None)
        self.context_length = getattr(config, "max_position_embeddings", None)

    def model_card(self, name: str) -> dict[str, Any]:
        base = self.models.base_name
        parent = None if name == base else base
        return {
            "id": name,
            "object": "model",
            "created": self.started,
            "owned_by": "peftctl",
            "root": base,
            "parent": parent,
        }

    async def load(self, name: str, path: str) -> None:
        try:
            await run_in_threadpool(self.models.add, name, path)
        except PeftctlError as error:
            raise ApiError(400, str(error), param="lora_path") from None

    async def answer(self, body: Sampled, request: Request, *, chat: bool) -> Response:
        job = self._job(body, chat)
        try:
            self.engine.submit(job)
        except Overloaded as error:
            status = 503 if "shutting down" in str(error) else 429
            raise ApiError(status, str(error), code="overloaded") from None
        endpoint = request.url.path
        self.metrics.prompt_tokens.inc(len(job.prompt_ids))
        reply = _Reply(job, body.model, chat)
        if body.stream:
            self.metrics.requests.labels(endpoint=endpoint, status="200").inc()
            return StreamingResponse(reply.stream(), media_type="text/event-stream")
        result = await reply.collect(request)
        self.metrics.requests.labels(endpoint=endpoint, status="200").inc()
        return JSONResponse(result)

    def _job(self, body: Sampled, chat: bool) -> Job:
        if body.n != 1:
            raise ApiError(400, "n: only n=1 is served", param="n")
        served = self.models.get(body.model)
        if served is None:
            known = ", ".join(self.models.names())
            raise ApiError(
                404,
                f"model '{body.model}' is not served here ({known})",
                param="model",
                code="model_not_found",
            )
        ids = self._prompt_ids(body, chat)
        max_tokens = self._max_tokens(body, len(ids))
        sampling = Sampling(body.temperature, body.top_p, body.seed, body.ignore_eos)
        loop = asyncio.get_running_loop()
        return Job(
            served.name, ids, max_tokens, sampling, body.stops(), loop, asyncio.Queue(), served
        )

    def _prompt_ids(self, body: Any, chat: bool) -> list[int]:
        from peftctl.inference.completion import Talker, encode_chat

        tokenizer = self.models.tokenizer
        if chat:
            messages = [{"role": m.role, "content": m.text()} for m in body.messages]
            try:
                return encode_chat(Talker(self.models.base_name, None, tokenizer), messages)
            except PeftctlError as error:
                raise ApiError(400, str(error), param="messages") from None
        prompt = body.prompt
        if isinstance(prompt, list) and prompt and all(isinstance(p, int) for p in prompt):
            if any(not 0 <= p < len(tokenizer) for p in prompt):
                raise ApiError(400, "prompt: a token id is outside the vocabulary", param="prompt")
            return list(prompt)
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ApiError(400, "prompt: one prompt per request is served", param="prompt")
            prompt = prompt[0]
        if body.echo:
            raise ApiError(400, "echo: not supported", param="echo")
        ids = tokenizer(prompt, add_special_tokens=True).input_ids
        if not ids:
            raise ApiError(400, "prompt: empty", param="prompt")
        return ids

    def _max_tokens(self, body: Any, prompt_tokens: int) -> int:
        asked = getattr(body, "max_completion_tokens", None) or body.max_tokens
        limit, context = self.options.max_tokens_limit, self.context_length
        room = context - prompt_tokens if context else limit
        if room <= 0:
            raise ApiError(
                400,
                f"the prompt has {prompt_tokens} tokens; this model's context is {context}",
                param="messages" if hasattr(body, "messages") else "prompt",
                code="context_length_exceeded",
            )
        if asked is None:
            return min(limit, room)
        if asked > limit:
            raise ApiError(
                400, f"max_tokens={asked} is above this server's limit {limit}", param="max_tokens"
            )
        if asked > room:
            raise ApiError(
                400,
                f"max_tokens={asked} + {prompt_tokens} prompt tokens exceed this model's "
                f"context of {context}",
                param="max_tokens",
                code="context_length_exceeded",
            )
        return asked


class ClientGone(Exception):
    """The client closed the connection before its answer was complete."""


class _Reply:
    """A job's events as an OpenAI response (whole, or as server-sent event chunks)."""

    def __init__(self, job: Job, model: str, chat: bool) -> None:
        self.job, self.model, self.chat = job, model, chat
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        self.created = int(time.time())

    async def collect(self, request: Request) -> dict[str, Any]:
        parts: list[str] = []
        async for kind, *payload in self._events(request):
            if kind == "text":
                parts.append(payload[0])
            else:
                reason, tokens = payload
                return self._whole("".join(parts), reason, tokens)
        raise ClientGone

    async def stream(self) -> AsyncIterator[str]:
        try:
            if self.chat:
                yield _sse(self._chunk({"role": "assistant", "content": ""}))
            async for kind, *payload in self._events(None):
                if kind == "text":
                    yield _sse(self._chunk({"content": payload[0]} if self.chat else payload[0]))
                else:
                    reason, tokens = payload
                    yield _sse(self._chunk({} if self.chat else "", reason, self._usage(tokens)))
                    yield "data: [DONE]\n\n"
                    return
        finally:
            self.job.cancelled.set()  # a client gone mid-answer frees its row

    async def _events(self, request: Request | None) -> AsyncIterator[tuple[Any, ...]]:
        assert self.job.events is not None
        while True:
            try:
                event = await asyncio.wait_for(self.job.events.get(), DISCONNECT_POLL_S)
            except TimeoutError:
                if request is not None and await request.is_disconnected():
                    self.job.cancelled.set()
                    return
                continue
            if event[0] == "error":
                if request is None:  # mid-stream: an error chunk, then the stream ends
                    yield ("done", "error", 0)
                    return
                raise ApiError(500, event[1])
            yield event

    def _usage(self, completion_tokens: int) -> dict[str, int]:
        prompt = len(self.job.prompt_ids)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
        }

    def _whole(self, text: str, reason: str, tokens: int) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": reason, "logprobs": None}
        if self.chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        kind = "chat.completion" if self.chat else "text_completion"
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": self._usage(tokens),
        }

    def _chunk(
        self, delta: Any, reason: str | None = None, usage: dict | None = None
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": reason, "logprobs": None}
        if self.chat:
            choice["delta"] = delta
        else:
            choice["text"] = delta
        kind = "chat.completion.chunk" if self.chat else "text_completion"
        chunk = {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }
        return {**chunk, "usage": usage} if usage else chunk


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"
