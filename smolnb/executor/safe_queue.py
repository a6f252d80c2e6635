"""`queue` for generated code: no lock the code can block on forever (a wait polls, under the time limit)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Empty", "Full", "LifoQueue", "PriorityQueue", "Queue", "SAFE_QUEUE", "SimpleQueue"]


class Empty(Exception):  # noqa: N818 - the stdlib's name
    """`queue.Empty`."""


class Full(Exception):  # noqa: N818
    """`queue.Full`."""


class Queue:
    """`queue.Queue` for code that has no threads: waits are sleeps a time limit can stop."""

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._items: collections.deque[Any] = collections.deque()
        self.unfinished_tasks = 0

    def _put(self, item: Any) -> None:
        self._items.append(item)

    def _get(self) -> Any:
        return self._items.popleft()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        _wait(lambda: not self.full(), block, timeout, Full)
        self._put(item)
        self.unfinished_tasks += 1

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        _wait(lambda: not self.empty(), block, timeout, Empty)
        return self._get()

    def put_nowait(self, item: Any) -> None:
        self.put(item, False)

    def get_nowait(self) -> Any:
        return self.get(False)

    def task_done(self) -> None:
        if self.unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self.unfinished_tasks -= 1

    def join(self) -> None:
        _wait(lambda: self.unfinished_tasks == 0, True, None, Empty)


class LifoQueue(Queue):
    def _get(self) -> Any:
        return self._items.pop()


class PriorityQueue(Queue):
    def _put(self, item: Any) -> None:
        import heapq

        heapq.heappush(self._items, item)  # type: ignore[arg-type]

    def _get(self) -> Any:
        import heapq

        return heapq.heappop(self._items)  # type: ignore[arg-type]

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._items = []  # type: ignore[assignment]


class SimpleQueue(Queue):
    def __init__(self) -> None:
        super().__init__(0)


def _wait(ready: Callable[[], bool], block: bool, timeout: float | None, error: type[Exception]) -> None:
    if ready():
        return
    if not block:
        raise error
    end = None if timeout is None else time.monotonic() + timeout
    while not ready():  # nothing else can change the queue: this waits for the time limit
        if end is not None and time.monotonic() >= end:
            raise error
        time.sleep(0.01)


SAFE_QUEUE = {
    "Queue": Queue,
    "LifoQueue": LifoQueue,
    "PriorityQueue": PriorityQueue,
    "SimpleQueue": SimpleQueue,
    "Empty": Empty,
    "Full": Full,
}
