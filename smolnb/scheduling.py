"""The scheduler every model call goes through: a priority queue per model, with limits.

    from smolnb import scheduler
    scheduler.configure("openai/*", concurrency=8, rpm=500, tpm=200_000, timeout=60)
    scheduler.configure("local/*", concurrency=1)          # the default for local models
    scheduler.stats()                                      # queue depth, running, waits by priority

- Higher `priority` first; first come, first served within a priority. A waiting request that
  would pass a rate limit waits, and so does everything behind it: order is never broken.
- Limits per model name or glob pattern (the last matching `configure` wins): concurrent
  requests, requests and tokens per window (60 s by default), a per-request timeout.
  Defaults: one request at a time for `local/*` models, no limit for others.
- Backpressure: a caller waits (suspended, holding nothing) until its request may start.
  Cancelling a waiting caller takes it out of the queue; cancelling a running one frees its slot.
- Works across threads and event loops: waiters are woken on their own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["Limits", "Scheduler", "scheduler"]


@dataclass(frozen=True)
class Limits:
    """What one model may do.

    `concurrency` requests at once, `rpm` requests and `tpm` tokens per `window` seconds, each
    request cut off after `timeout` seconds (None: no limit).
    """

    concurrency: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    timeout: float | None = None
    window: float = 60.0


DEFAULT_RULES: list[tuple[str, Limits]] = [("*", Limits()), ("local/*", Limits(concurrency=1))]


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop
    priority: int
    tokens: int
    enqueued: float
    granted: bool = False
    cancelled: bool = False
    record: list[float] = field(default_factory=list)  # [start time, tokens] in the rate window
    used_tokens: int | None = None  # set by the caller once the reply says how many it took
    limits: Limits = field(default_factory=Limits)  # the model's limits when the turn began


class _Queue:
    def __init__(self, model: str, limits: Limits) -> None:
        self.model = model
        self.limits = limits
        self.heap: list[tuple[int, int, _Waiter]] = []
        self.running = 0
        self.window: deque[list[float]] = deque()  # [start, tokens] of requests started in the window
        self.waits: dict[int, list[float]] = {}  # priority -> [count, total wait seconds]
        self.timer: threading.Timer | None = None
        self.started = 0


class Scheduler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[tuple[str, Limits]] = list(DEFAULT_RULES)
        self._queues: dict[str, _Queue] = {}
        self._seq = itertools.count()

    # -- configuration ------------------------------------------------------------------------

    def configure(self, pattern: str, **limits: Any) -> Limits:
        """Set limits for models matching `pattern` (a name or a glob such as `openai/*`)."""
        unknown = set(limits) - set(Limits.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown limit(s) {sorted(unknown)}: use concurrency, rpm, tpm, timeout, window")
        for key in ("concurrency", "rpm", "tpm"):
            if limits.get(key) is not None and limits[key] < 1:
                raise ValueError(f"{key} must be at least 1 (or None for no limit), got {limits[key]}")
        base = self.limits_for(pattern) if "*" not in pattern else Limits()
        new = replace(base, **limits)
        with self._lock:
            self._rules.append((pattern, new))
            for queue in self._queues.values():
                queue.limits = self._match(queue.model)
                self._dispatch(queue)
        return new

    def reset(self) -> None:
        """Back to the default limits (running requests are not touched)."""
        with self._lock:
            self._rules = list(DEFAULT_RULES)
            for queue in self._queues.values():
                queue.limits = self._match(queue.model)

    def _match(self, model: str) -> Limits:
        for pattern, limits in reversed(self._rules):
            if fnmatch.fnmatchcase(model, pattern):
                return limits
        return Limits()

    def limits_for(self, model: str) -> Limits:
        with self._lock:
            return self._match(model)

    # -- the queue ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def slot(self, model: str, priority: int = 0, tokens: int = 0) -> AsyncIterator[Any]:
        """Wait for a turn to call `model`; the turn lasts the `async with` block.

        The object yielded carries the model's `limits` and takes the real token count: `turn.used_tokens = n`.
        """
        with self._lock:
            queue = self._queue(model)
            limits = queue.limits
            free = limits.concurrency is None and limits.rpm is None and limits.tpm is None
            if free:  # no limit on this model: no queue, no wake-up, just the count
                queue.running += 1
                queue.started += 1
                stat = queue.waits.setdefault(priority, [0, 0.0])
                stat[0] += 1
        if free:
            turn = _Waiter(None, None, priority, tokens, 0.0, granted=True, limits=limits)  # type: ignore[arg-type]
            try:
                yield turn
            finally:
                with self._lock:
                    queue.running -= 1
            return
        waiter = await self.acquire(model, priority, tokens)
        try:
            yield waiter
        finally:
            self.release(model, waiter)

    async def acquire(self, model: str, priority: int = 0, tokens: int = 0) -> _Waiter:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), loop, priority, tokens, time.monotonic())
        with self._lock:
            queue = self._queue(model)
            heapq.heappush(queue.heap, (-priority, next(self._seq), waiter))
            self._dispatch(queue)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:  # granted while being cancelled: give the slot back
                    queue.running -= 1
                else:
                    waiter.cancelled = True  # dropped from the heap when it reaches the top
                self._dispatch(queue)
            raise
        return waiter

    def release(self, model: str, waiter: _Waiter) -> None:
        with self._lock:
            queue = self._queues[model]
            queue.running -= 1
            if waiter.record:
                waiter.record[1] = float(waiter.used_tokens if waiter.used_tokens is not None else waiter.tokens)
            self._dispatch(queue)

    def _queue(self, model: str) -> _Queue:
        queue = self._queues.get(model)
        if queue is None:
            queue = self._queues[model] = _Queue(model, self._match(model))
        return queue

    def _dispatch(self, queue: _Queue) -> None:
        """Start whoever may start now (called with the lock held)."""
        limits = queue.limits
        while queue.heap:
            priority, _, waiter = queue.heap[0]
            if waiter.cancelled:
                heapq.heappop(queue.heap)
                continue
            if limits.concurrency is not None and queue.running >= limits.concurrency:
                return
            now = time.monotonic()
            while queue.window and queue.window[0][0] <= now - limits.window:
                queue.window.popleft()
            wait_until = None
            if limits.rpm is not None and len(queue.window) >= limits.rpm:
                wait_until = queue.window[0][0] + limits.window
            if limits.tpm is not None and queue.window and sum(r[1] for r in queue.window) + waiter.tokens > limits.tpm:
                wait_until = max(wait_until or 0.0, queue.window[0][0] + limits.window)
            if wait_until is not None:
                self._wake_at(queue, wait_until - now)
                return
            heapq.heappop(queue.heap)
            waiter.limits = limits
            queue.running += 1
            queue.started += 1
            waiter.granted = True
            waiter.record = [now, float(waiter.tokens)]
            queue.window.append(waiter.record)
            stat = queue.waits.setdefault(-priority, [0, 0.0])
            stat[0] += 1
            stat[1] += now - waiter.enqueued
            waiter.loop.call_soon_threadsafe(_grant, waiter.future)

    def _wake_at(self, queue: _Queue, delay: float) -> None:
        if queue.timer is not None and queue.timer.is_alive():
            return
        queue.timer = threading.Timer(max(delay, 0.0) + 0.001, self._wake, (queue,))
        queue.timer.daemon = True
        queue.timer.start()

    def _wake(self, queue: _Queue) -> None:
        with self._lock:
            queue.timer = None
            self._dispatch(queue)

    # -- introspection ------------------------------------------------------------------------

    def stats(self) -> list[dict[str, Any]]:
        """Per model: limits, running, queued (by priority), started, mean wait by priority."""
        rows = []
        with self._lock:
            for queue in self._queues.values():
                waiting: dict[int, int] = {}
                for priority, _, waiter in queue.heap:
                    if not waiter.cancelled:
                        waiting[-priority] = waiting.get(-priority, 0) + 1
                rows.append(
                    {
                        "model": queue.model,
                        "running": queue.running,
                        "queued": sum(waiting.values()),
                        "queued_by_priority": dict(sorted(waiting.items(), reverse=True)),
                        "started": queue.started,
                        "mean_wait_s_by_priority": {
                            p: round(s[1] / s[0], 4) for p, s in sorted(queue.waits.items(), reverse=True)
                        },
                        "limits": queue.limits,
                    }
                )
        return rows

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        import html

        header = ["model", "running", "queued", "by priority", "started", "mean wait by priority", "limits"]
        rows = []
        for r in self.stats():
            limits = ", ".join(f"{k}={v}" for k, v in vars(r["limits"]).items() if v is not None and k != "window")
            rows.append(
                [
                    r["model"],
                    r["running"],
                    r["queued"],
                    r["queued_by_priority"] or "-",
                    r["started"],
                    {p: f"{w * 1000:.0f} ms" for p, w in r["mean_wait_s_by_priority"].items()} or "-",
                    limits or "none",
                ]
            )
        text = "\n".join("  ".join(str(c) for c in row) for row in [header, *rows]) if rows else "no model calls yet"
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        head = "".join(f"<th>{h}</th>" for h in header)
        return {"text/plain": text, "text/html": f"<table>{head}{cells}</table>" if rows else "<p>no model calls yet</p>"}


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


scheduler = Scheduler()
