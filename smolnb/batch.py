"""Many runs at once: `run_many(agent, tasks, concurrency=N)` returns the results in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ._sync import run_sync
from .errors import UserError

__all__ = ["arun_many", "run_many"]


async def arun_many(
    agent: Any,
    tasks: Iterable[str],
    *,
    concurrency: int = 8,
    priority: int | None = None,
    max_steps: int | None = None,
    progress: bool = True,
) -> list[Any]:
    """Run `agent` on every task, at most `concurrency` at a time.

    Each run beyond the first is on a clone of the agent; model calls still go through the
    scheduler's per-model limits.
    """
    tasks = list(tasks)
    if concurrency < 1:
        raise UserError(f"concurrency must be at least 1, got {concurrency}")
    empty = [i for i, t in enumerate(tasks) if not isinstance(t, str) or not t.strip()]
    if empty:
        raise UserError(f"tasks {empty[:10]} are empty: every task needs its text")
    gate = asyncio.Semaphore(concurrency)
    bar = _progress(len(tasks)) if progress else None
    workers = [agent.clone() for _ in range(min(concurrency, len(tasks)))]
    free = list(workers)

    async def one(task: str) -> Any:
        async with gate:
            worker = free.pop()
            try:
                return await worker.arun(task, max_steps=max_steps, priority=priority)
            finally:
                free.append(worker)
                if bar is not None:
                    bar.update(1)

    try:
        return list(await asyncio.gather(*(one(t) for t in tasks)))
    finally:
        if bar is not None:
            bar.close()


def run_many(agent: Any, tasks: Iterable[str], **options: Any) -> list[Any]:
    """`arun_many` from plain code or a notebook cell."""
    return run_sync(arun_many(agent, tasks, **options))


def _progress(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="runs", unit="run")
