"""One thread that stops code blocks which run past their wall-clock limit.

A timed-out block gets `ExecutionTimeout` raised inside its own thread, at its next bytecode
(long-running C calls finish first), so the process and the notebook's kernel live on. Each
clock is an interrupt section (`smolnb._interrupt`): once disarmed, no fire of it can land in
what the thread runs next, even one sent as the block ended.
"""

from __future__ import annotations

import heapq
import threading
import time

from .._interrupt import close_section, interrupt, open_section
from ..errors import ExecutionTimeout

__all__ = ["Watchdog", "watchdog"]


class Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int]] = []
        self._armed: set[int] = set()  # open clocks: their interrupt sections
        self._fired: set[int] = set()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> int:
        """Start the clock for the calling thread; returns a token for `disarm`."""
        token = open_section()
        with self._lock:
            self._armed.add(token)
            entry = (time.monotonic() + seconds, token)
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="smolnb-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0] is entry:  # a new earliest deadline; otherwise the thread's wait is already right
                self._wake.notify()
            return token

    def disarm(self, token: int) -> bool:
        """Stop the clock from its own thread; returns True if it had fired.

        A timeout sent but not yet raised is withdrawn; one raised while this runs is absorbed.
        """
        close_section(token)
        with self._lock:
            self._armed.discard(token)
            fired = token in self._fired
            self._fired.discard(token)
            return fired

    def _loop(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, token = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                self._fired.add(token)
                if not interrupt(token, ExecutionTimeout):  # its block ended and closed it
                    self._armed.discard(token)
                    continue
                # Fire again until disarmed: code may catch the first one in a `finally`.
                heapq.heappush(self._heap, (time.monotonic() + 0.25, token))


watchdog = Watchdog()
