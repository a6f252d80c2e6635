"""What the HTTP models share.

Their settings, key-free pickling, retries of transient failures, and tool-call arguments.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._retry import Backoff, aretry
from ..errors import ModelError, TransientModelError
from ..redact import add_secret
from .base import Message, Model

__all__ = ["HTTPModel", "RETRY_STATUS", "flatten_content", "retryable_status", "tool_arguments"]

T = TypeVar("T")

RETRY_STATUS = frozenset({408, 409, 429})  # and every 5xx


def retryable_status(status: int) -> bool:
    """An HTTP status that may pass on retry: timeouts, conflicts, rate limits, server errors."""
    return status in RETRY_STATUS or status >= 500


def flatten_content(messages: list[Message]) -> list[Message]:
    """Turn list-of-parts message content into plain text (servers like llama.cpp need it)."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            text = "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            message = {**message, "content": text}
        out.append(message)
    return out


def tool_arguments(arguments: Any) -> Any:
    """A tool call's arguments as a dict.

    Text that is not JSON is left as text: the agent tells the model it was not valid JSON.
    """
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return arguments


class HTTPModel(Model):
    """A model behind an HTTP API: settings every such model has, and `_with_retries`.

    Args:
        api_base: the server's base URL.
        api_key: the key (never pickled with the model).
        max_retries: retries of a transient failure before giving up.
        timeout: seconds for one request.
        backoff: seconds before the first retry (doubling, jittered) when the server gives no `Retry-After`.
        flatten: send message content as plain text rather than a list of parts.
        **params: passed to every call (temperature, max_tokens, ...).
    """

    def __init__(
        self,
        *,
        api_base: str | None,
        api_key: str | None,
        max_retries: int,
        timeout: float,
        backoff: float,
        flatten: bool,
        **params: Any,
    ) -> None:
        self.api_base = api_base
        self._api_key = api_key
        if api_key:
            add_secret(api_key)  # a provider error that quotes it is redacted like any other secret
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.flatten = flatten
        self.params = params

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_api_key"] = None  # keys never travel with a pickled model
        return state

    def _messages(self, messages: list[Message]) -> list[Message]:
        return flatten_content(messages) if self.flatten else messages

    async def _with_retries(self, call: Callable[[], Awaitable[T]], classify: Callable[[Exception], ModelError]) -> T:
        """Await `call()`, retrying what `classify` calls transient.

        Retries wait with exponential backoff, or as the server's `Retry-After` says; any other
        failure is raised at once as a `ModelError`.
        """

        async def classified() -> T:
            try:
                return await call()
            except Exception as exc:
                error = classify(exc)
                if error is exc:
                    raise
                raise error from exc

        try:
            return await aretry(
                classified,
                retry_if=lambda e: isinstance(e, TransientModelError),
                backoff=Backoff(self.backoff, cap=60.0),
                retries=self.max_retries,
                wait_of=lambda e: e.retry_after,
            )
        except TransientModelError as error:
            gave_up = f"{error} (gave up after {self.max_retries + 1} attempts)"
            raise TransientModelError(gave_up, retry_after=error.retry_after) from error.__cause__
