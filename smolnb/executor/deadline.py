"""A time limit that code cannot swallow.

The watchdog raises `ExecutionTimeout` asynchronously in the thread that runs a block. Code
can swallow one exception (`finally: continue`, an `__exit__` that returns True, a handler
the policy did not see), so the first time the exception is created in that thread (CPython
creates it there, when a handler or `finally` receives it), it also turns on a trace function
that raises it again on every line of every frame of the block, and on every new call. No
handler can run a line, so the block unwinds to the executor, which turns the trace off.

Nothing is traced before the deadline: code runs at full speed until then.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from typing import Any

__all__ = ["begin", "end", "on_timeout", "remaining", "tracing"]

_state = threading.local()


def begin(stop: types.CodeType, seconds: float | None = None) -> None:
    """Mark the calling thread as running a block whose frames stop at a frame of `stop`."""
    _state.stop = stop
    _state.tracing = False
    _state.end = None if not seconds or seconds <= 0 else time.monotonic() + seconds


def remaining() -> float | None:
    """Seconds left to the block running in this thread (None: no limit), at least 10 ms."""
    end = getattr(_state, "end", None)
    return None if end is None else max(end - time.monotonic(), 0.01)


def tracing() -> bool:
    return bool(getattr(_state, "tracing", False))


def on_timeout() -> None:
    """Called when `ExecutionTimeout` is created: trace the block's frames so each line raises."""
    stop = getattr(_state, "stop", None)
    if stop is None or getattr(_state, "tracing", False):
        return
    _state.tracing = True
    frame: Any = sys._getframe(2)
    while frame is not None and frame.f_code is not stop:
        frame.f_trace = _raise_on_line
        frame.f_trace_lines = True
        frame = frame.f_back
    if frame is None:  # not inside a block after all: undo
        _state.tracing = False
        return
    sys.settrace(_raise_on_call)


def end() -> None:
    _state.stop = None
    _state.tracing = False
    _state.end = None


def _raise_on_call(frame: Any, event: str, arg: Any) -> Any:
    from ..errors import ExecutionTimeout

    raise ExecutionTimeout


def _raise_on_line(frame: Any, event: str, arg: Any) -> Any:
    if event in ("line", "call", "opcode"):
        from ..errors import ExecutionTimeout

        raise ExecutionTimeout
    return _raise_on_line
