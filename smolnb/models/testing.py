"""Test doubles that ship with the package: a scripted model and a function model."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from ..errors import ModelError
from ..events import Usage
from .base import Message, Model, ModelResponse, ToolCallRequest

__all__ = ["FunctionModel", "TestModel"]

Reply = str | ModelResponse | BaseException


def _count(messages: list[Message]) -> int:
    return sum(_words(str(m.get("content") or "")) for m in messages)


@lru_cache(maxsize=4096)
def _words(text: str) -> int:
    return len(text.split())


def _as_response(reply: str | ModelResponse, messages: list[Message]) -> ModelResponse:
    if isinstance(reply, ModelResponse):
        return reply
    return ModelResponse(content=reply, usage=Usage(_count(messages), len(reply.split())))


class TestModel(Model):
    r"""A model that answers with replies you enqueue, in order, and records every call.

    Example:
        >>> model = TestModel(["```python\nfinal_answer(42)\n```"])
        >>> model.enqueue("another reply")
    """

    __test__ = False  # not a pytest test class
    streams = True  # `on_text=` gets each reply in pieces, as a streaming server would send it

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        model_id: str = "test",
        default: Reply | None = None,
        latency: float = 0.0,
    ) -> None:
        self.model_id = model_id
        self.queue: deque[Reply] = deque(replies)
        self.default = default
        self.latency = latency
        self.calls: list[dict[str, Any]] = []

    def enqueue(self, *replies: Reply) -> None:
        """Add replies to the end of the queue."""
        self.queue.extend(replies)

    def tool_call(self, name: str, **arguments: Any) -> ModelResponse:
        """Build a reply holding one native tool call (for `ToolCallingAgent` tests)."""
        call_id = f"call_{len(self.calls)}_{name}"
        return ModelResponse(content="", tool_calls=[ToolCallRequest(call_id, name, arguments)], usage=Usage(1, 1))

    async def agenerate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        on_text = kwargs.pop("on_text", None)
        self.calls.append({"messages": [dict(m) for m in messages], "stop": stop, "tools": tools, **kwargs})
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.queue:
            reply = self.queue.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise ModelError("TestModel has no reply left: enqueue more replies or set default=")
        if isinstance(reply, BaseException):
            raise reply
        if on_text is not None and isinstance(reply, str):
            for start in range(0, len(reply), 8):
                on_text(reply[start : start + 8])
                await asyncio.sleep(0)
        return _as_response(reply, messages)


class FunctionModel(Model):
    """A model whose reply is computed by your function `fn(messages, **info) -> str | ModelResponse`."""

    def __init__(self, fn: Callable[..., Any], *, model_id: str = "function") -> None:
        self.fn = fn
        self.model_id = model_id
        self.calls = 0

    async def agenerate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        self.calls += 1
        reply = self.fn(messages, stop=stop, tools=tools, **kwargs)
        if inspect.isawaitable(reply):
            reply = await reply
        return _as_response(reply, messages)
