"""The one retry helper every retry loop in the package goes through."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from smolnb._retry import Backoff, aretry, retry


class Flaky:
    """Fails `failures` times with `error`, then returns "ok"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_retries_until_the_call_passes_and_waits_the_backoff_between() -> None:
    waits: list[float] = []
    call = Flaky(3, OSError("busy"))
    result = retry(
        call, retry_if=lambda e: isinstance(e, OSError), backoff=Backoff(0.1, jitter=False), retries=5, sleep=waits.append
    )
    assert result == "ok" and call.calls == 4
    assert waits == [0.1, 0.2, 0.4]


def test_the_last_error_is_raised_once_the_retries_are_spent() -> None:
    waits: list[float] = []
    call = Flaky(10, OSError("busy"))
    with pytest.raises(OSError, match="busy"):
        retry(call, retry_if=lambda e: True, backoff=Backoff(0.1, cap=0.15, jitter=False), retries=2, sleep=waits.append)
    assert call.calls == 3 and waits == [0.1, 0.15]


def test_an_error_it_should_not_retry_is_raised_at_once() -> None:
    call = Flaky(1, sqlite3.OperationalError("no such table"))
    with pytest.raises(sqlite3.OperationalError):
        retry(call, retry_if=lambda e: "locked" in str(e), backoff=Backoff(0.1), retries=5, sleep=lambda s: None)
    assert call.calls == 1


def test_a_time_limit_stops_the_retries() -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    call = Flaky(100, OSError("locked"))
    with pytest.raises(OSError):
        retry(
            call,
            retry_if=lambda e: True,
            backoff=Backoff(1.0, factor=1, jitter=False),
            within=3.5,
            sleep=sleep,
            clock=lambda: clock[0],
        )
    assert call.calls == 4  # at 0, 1, 2 and 3 s; a 5th would start at 4 s, past the limit


def test_jitter_keeps_each_wait_between_half_and_the_whole_delay() -> None:
    backoff = Backoff(1.0, cap=8.0)
    for n in range(6):
        wait = backoff.delay(n)
        assert min(2.0**n, 8.0) / 2 <= wait <= min(2.0**n, 8.0)


def test_async_retries_honour_the_wait_the_error_asks_for() -> None:
    class BusyError(Exception):
        retry_after = 0.0

    call = Flaky(2, BusyError())

    async def acall() -> str:
        return call()

    async def main() -> str:
        return await aretry(
            acall, retry_if=lambda e: isinstance(e, BusyError), backoff=Backoff(30.0), retries=3, wait_of=lambda e: e.retry_after
        )

    assert asyncio.run(main()) == "ok" and call.calls == 3  # 30 s backoffs would time the test out


def test_async_retries_on_a_result_the_caller_calls_transient() -> None:
    results = iter(["transient", "transient", "done", "never"])

    async def acall() -> str:
        return next(results)

    async def main() -> str:
        return await aretry(acall, retry_result=lambda r: r == "transient", backoff=Backoff(0.001), retries=5)

    assert asyncio.run(main()) == "done"


def test_async_gives_back_the_last_result_when_the_retries_are_spent() -> None:
    async def acall() -> str:
        return "transient"

    async def main() -> str:
        return await aretry(acall, retry_result=lambda r: r == "transient", backoff=Backoff(0.001), retries=2)

    assert asyncio.run(main()) == "transient"
