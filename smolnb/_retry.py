"""One way to try again: the retry helper every retry loop in the package goes through.

A call is tried, and tried again while the failure is one that may pass (`retry_if` on the
exception, or `retry_result` on what it returned), waiting a jittered exponential backoff, or
what the error asks for (`wait_of`, e.g. a server's `Retry-After`), between tries; it stops
after `retries` retries or once the next try would start later than `within` seconds after
the first. What the last try raised is raised as is; what it returned is returned.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Backoff", "aretry", "retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """The wait before retry n (from 0): `first * factor**n`, at most `cap`, jittered to 50-100%."""

    first: float
    factor: float = 2.0
    cap: float = 60.0
    jitter: bool = True

    def delay(self, n: int) -> float:
        base = min(self.first * self.factor**n, self.cap)
        return base * (0.5 + random.random() / 2) if self.jitter else base  # noqa: S311 - jitter, not secrets


def _never(_: Any) -> bool:
    return False


class _Tries:
    """What both the sync and the async helper decide: whether to try again, and after how long."""

    def __init__(
        self,
        backoff: Backoff,
        retries: int | None,
        within: float | None,
        wait_of: Callable[[Any], float | None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.backoff, self.retries, self.within, self.wait_of, self.clock = backoff, retries, within, wait_of, clock
        self.started = clock()
        self.n = 0

    def next_wait(self, failure: Any) -> float | None:
        """Seconds to wait before the next try, or None when no try is left."""
        if self.retries is not None and self.n >= self.retries:
            return None
        asked = self.wait_of(failure) if self.wait_of is not None else None
        wait = min(asked, self.backoff.cap) if asked is not None else self.backoff.delay(self.n)
        if self.within is not None and self.clock() + wait - self.started > self.within:
            return None
        self.n += 1
        return wait


def retry(
    call: Callable[[], T],
    *,
    backoff: Backoff,
    retry_if: Callable[[Exception], bool] = _never,
    retry_result: Callable[[T], bool] = _never,
    retries: int | None = None,
    within: float | None = None,
    wait_of: Callable[[Any], float | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `call()`, trying again while it fails in a way `retry_if`/`retry_result` accept."""
    tries = _Tries(backoff, retries, within, wait_of, clock)
    while True:
        try:
            result = call()
        except Exception as exc:
            if not retry_if(exc) or (wait := tries.next_wait(exc)) is None:
                raise
        else:
            if not retry_result(result) or (wait := tries.next_wait(result)) is None:
                return result
        sleep(wait)


async def aretry(
    call: Callable[[], Awaitable[T]],
    *,
    backoff: Backoff,
    retry_if: Callable[[Exception], bool] = _never,
    retry_result: Callable[[T], bool] = _never,
    retries: int | None = None,
    within: float | None = None,
    wait_of: Callable[[Any], float | None] | None = None,
) -> T:
    """The async twin of `retry`: `await call()`, and `asyncio.sleep` between tries."""
    tries = _Tries(backoff, retries, within, wait_of, time.monotonic)
    while True:
        try:
            result = await call()
        except Exception as exc:
            if not retry_if(exc) or (wait := tries.next_wait(exc)) is None:
                raise
        else:
            if not retry_result(result) or (wait := tries.next_wait(result)) is None:
                return result
        await asyncio.sleep(wait)
