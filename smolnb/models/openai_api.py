"""Any OpenAI-compatible chat-completions server, reached directly over one pooled HTTP client.

    CodeAgent(model="openai-api/vllm/Qwen/Qwen2.5-Coder-7B-Instruct")   # VLLM_BASE_URL, VLLM_API_KEY
    OpenAIAPIModel("my-model", api_base="http://127.0.0.1:8000/v1")

vLLM, llama.cpp, Ollama's `/v1`, LM Studio, TGI and OpenAI itself speak this protocol. For them
this path skips litellm's per-call translation and bookkeeping (about 5 ms of CPU a call, which
caps a 2-core machine at a few hundred calls a second) and keeps one keep-alive connection pool
per event loop. Retries, error classes and usage are the same as `LiteLLMModel`'s.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import ModelError, TransientModelError, UserError
from ..events import Usage
from .base import Message, ModelResponse, ToolCallRequest
from .http import HTTPModel, retryable_status, tool_arguments

__all__ = ["OpenAIAPIModel", "parse_spec"]

PREFIX = "openai-api/"

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = weakref.WeakKeyDictionary()
_sessions_lock = threading.Lock()


async def _session() -> Any:
    """The aiohttp session of the running loop (a session cannot cross loops).

    It closes when the loop shuts down its async generators, as `asyncio.run` and smolnb's own
    loops do.
    """
    import aiohttp

    loop = asyncio.get_running_loop()
    with _sessions_lock:
        entry = _sessions.get(loop)
    if entry is not None and not entry[0].closed:
        return entry[0]
    # No cap on connections: the scheduler's per-model limits decide how many run at once.
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
    session = aiohttp.ClientSession(connector=connector)  # proxies: see _proxy_for
    closer = _closed_with_loop(loop, session)
    await closer.__anext__()  # now the loop tracks it, and finalizes it at shutdown_asyncgens()
    with _sessions_lock:
        _sessions[loop] = (session, closer)
    return session


async def _closed_with_loop(loop: asyncio.AbstractEventLoop, session: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        with _sessions_lock:
            if _sessions.get(loop, (None,))[0] is session:
                del _sessions[loop]
        await session.close()


@functools.lru_cache(maxsize=64)
def _proxy_for(api_base: str) -> str | None:
    """The proxy from HTTP(S)_PROXY / NO_PROXY for a server, looked up once.

    aiohttp's `trust_env` would look it up in a thread on every request.
    """
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(api_base)
    if parts.hostname is None or proxy_bypass(parts.hostname):
        return None
    return getproxies().get(parts.scheme)


def parse_spec(spec: str) -> tuple[str, str]:
    """`openai-api/<service>/<model>` -> (service, model); the model name may hold slashes."""
    service, _, model = spec.removeprefix(PREFIX).partition("/")
    if not service or not model:
        raise UserError(
            f"{spec!r}: name an OpenAI-compatible model as 'openai-api/<service>/<model>', e.g. "
            "'openai-api/vllm/Qwen2.5-Coder-7B' with VLLM_BASE_URL (and VLLM_API_KEY) set"
        )
    return service, model


class OpenAIAPIModel(HTTPModel):
    """A model behind an OpenAI-compatible `/chat/completions` endpoint.

    Args:
        model: the model name the server knows.
        api_base: the server's base URL (ending in `/v1` for most servers).
        api_key: sent as a bearer token, when the server wants one.
        model_id: how runs and the scheduler name this model (default `openai-api/<model>`).
        max_retries: retries of a transient failure (429, 408, 409, 5xx, timeouts, dropped
            connections) before giving up; `Retry-After` is honoured.
        timeout: seconds for one request.
        flatten: send message content as plain text rather than a list of parts.
        **params: sent with every call (temperature, max_tokens, ...).
    """

    streams = True  # `on_text=` streams the reply (not with tools)

    def __init__(
        self,
        model: str,
        *,
        api_base: str,
        api_key: str | None = None,
        model_id: str | None = None,
        max_retries: int = 4,
        timeout: float = 600.0,
        backoff: float = 1.0,
        flatten: bool = True,
        **params: Any,
    ) -> None:
        if not api_base or not api_base.startswith(("http://", "https://")):
            raise UserError(f"api_base must be the server's http(s) URL, e.g. 'http://127.0.0.1:8000/v1', not {api_base!r}")
        self.model = model
        self.model_id = model_id or f"{PREFIX}{model}"
        super().__init__(
            api_base=api_base.rstrip("/"),
            api_key=api_key,
            max_retries=max_retries,
            timeout=timeout,
            backoff=backoff,
            flatten=flatten,
            **params,
        )

    @classmethod
    def from_spec(cls, spec: str, **params: Any) -> OpenAIAPIModel:
        """`openai-api/<service>/<model>`, configured by `<SERVICE>_BASE_URL` and `<SERVICE>_API_KEY`."""
        service, model = parse_spec(spec)
        env = service.upper().replace("-", "_").replace(".", "_")
        api_base = params.pop("api_base", None) or params.pop("base_url", None) or os.environ.get(f"{env}_BASE_URL")
        if not api_base:
            raise UserError(f"{spec}: set {env}_BASE_URL to the server's URL (e.g. http://127.0.0.1:8000/v1), or pass api_base=")
        api_key = params.pop("api_key", None) or os.environ.get(f"{env}_API_KEY")
        return cls(model, api_base=api_base, api_key=api_key, model_id=spec, **params)

    async def agenerate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        params = {**self.params, **kwargs}
        on_text = params.pop("on_text", None)  # streamed to a live view as it is generated
        stream = callable(on_text) and not tools
        api_base = str(params.pop("api_base", None) or params.pop("base_url", None) or self.api_base).rstrip("/")
        api_key = params.pop("api_key", None) or self._api_key
        timeout = float(params.pop("timeout", None) or self.timeout)
        headers = {"Content-Type": "application/json", **(params.pop("extra_headers", None) or {})}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        body: dict[str, Any] = {"model": self.model, "messages": self._messages(messages), **params}
        if stop:
            body["stop"] = stop
        if tools:
            body["tools"] = tools
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        data = json.dumps(body, ensure_ascii=False).encode()
        url = f"{api_base}/chat/completions"
        proxy = _proxy_for(api_base)

        async def call() -> ModelResponse:
            import aiohttp

            session = await _session()
            limit = aiohttp.ClientTimeout(total=timeout)
            async with session.post(url, data=data, headers=headers, proxy=proxy, timeout=limit) as response:
                if response.status >= 400 or not stream:
                    raw = await response.read()
                    if response.status >= 400:
                        raise _HTTPStatusError(response.status, raw, response.headers.get("retry-after"))
                    return _parse(raw)
                return await _read_stream(response.content, on_text)

        return await self._with_retries(call, lambda exc: self._classify(exc, url, timeout))

    def _classify(self, exc: Exception, url: str, timeout: float) -> ModelError:
        name = self.model_id
        if isinstance(exc, _HTTPStatusError):
            text = f"{name}: the server answered {exc.status}: {exc.detail}"
            if exc.status in (401, 403):
                text += " (check the API key: api_key=, or the service's _API_KEY variable)"
            elif exc.status == 404:
                text += f" (is {url} the right endpoint, and does the server serve the model {self.model!r}?)"
            if retryable_status(exc.status):
                return TransientModelError(text, retry_after=exc.retry_after)
            return ModelError(text)
        if isinstance(exc, asyncio.TimeoutError):
            return TransientModelError(f"{name}: no answer from {url} within {timeout:g} s (timeout)")
        import aiohttp

        if isinstance(exc, aiohttp.ClientConnectionError):
            return TransientModelError(f"{name}: cannot reach {url} ({exc}); is the server running? (connection error)")
        if isinstance(exc, ModelError):
            return exc
        return ModelError(f"{name}: {type(exc).__name__}: {exc}")


class _HTTPStatusError(Exception):
    def __init__(self, status: int, raw: bytes, retry_after: str | None) -> None:
        self.status = status
        try:
            payload = json.loads(raw)
            error = payload.get("error", payload) if isinstance(payload, dict) else payload
            detail = error.get("message", error) if isinstance(error, dict) else error
        except (ValueError, UnicodeDecodeError):
            detail = raw.decode(errors="replace")
        detail = str(detail).strip() or "(empty body)"
        self.detail = detail if len(detail) < 600 else detail[:600] + " ..."
        try:
            self.retry_after = float(retry_after) if retry_after is not None else None
        except ValueError:
            self.retry_after = None
        super().__init__(f"HTTP {status}: {self.detail}")


async def _read_stream(lines: Any, on_text: Callable[[str], None]) -> ModelResponse:
    """A streamed chat completion (server-sent events): each piece of text goes to `on_text` as it arrives.

    Usage comes from the last event when the server sends it; otherwise the output is counted in pieces (one token each, as
    llama.cpp streams) and the input is left at 0 for the caller to count.
    """
    parts: list[str] = []
    pieces, usage = 0, None
    async for raw_line in lines:
        line = raw_line.decode(errors="replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ModelError(f"the server's stream sent something that is not JSON: {data[:200]!r}") from None
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                parts.append(text)
                pieces += 1
                on_text(text)
    counted = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)) if usage else Usage(0, pieces)
    return ModelResponse(content="".join(parts), tool_calls=[], usage=counted, raw={"streamed": True, "usage": usage})


def _parse(raw: bytes) -> ModelResponse:
    """A chat completion's JSON -> ModelResponse (a reply of another shape is a ModelError)."""
    try:
        payload = json.loads(raw)
        message = payload["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        text = raw[:300].decode(errors="replace")
        raise ModelError(f"the server's reply is not an OpenAI chat completion (no choices[0].message): {text!r}") from None
    calls: list[ToolCallRequest] = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        arguments = tool_arguments(function.get("arguments", {}))
        call_id = call.get("id") or f"call_{len(calls)}"
        calls.append(ToolCallRequest(id=call_id, name=function.get("name", ""), arguments=arguments))
    usage = payload.get("usage") or {}
    return ModelResponse(
        content=message.get("content") or "",
        tool_calls=calls,
        usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
        raw=payload,
    )
