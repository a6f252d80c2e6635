"""Retries of transient model failures, shared by every HTTP model."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import ModelError, TransientModelError

__all__ = ["with_retries"]

T = TypeVar("T")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    classify: Callable[[Exception], TransientModelError | ModelError],
    max_retries: int,
    backoff: float,
) -> T:
    """Await `call()`; a failure `classify` calls transient is retried with exponential backoff
    (or after the server's `Retry-After`), anything else is raised at once as a `ModelError`."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:  # noqa: BLE001 - classified below
            error = classify(exc)
            if not isinstance(error, TransientModelError):
                raise error from exc
            if attempt >= max_retries:
                raise TransientModelError(f"{error} (gave up after {attempt + 1} attempts)", retry_after=error.retry_after) from exc
            delay = error.retry_after
            if delay is None:
                delay = backoff * (2**attempt) * (0.5 + random.random() / 2)
            attempt += 1
            await asyncio.sleep(min(delay, 60.0))
