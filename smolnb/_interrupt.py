"""Raising an exception in another thread, at its next bytecode, only while it runs the work aimed at.

A thread opens a *section* around interruptible work (a worker's job, a code block under a
clock) and closes it after. `interrupt` reaches a section only while it is open, and closing
withdraws one that was sent but not raised yet, so nothing aimed at finished work can land
in what the thread does next. Without importing asyncio: the sandbox worker and the watchdog
need only this.
"""

from __future__ import annotations

import itertools
import threading

__all__ = ["clear_interrupt", "close_section", "interrupt", "interrupt_thread", "open_section"]

_lock = threading.Lock()
_owners: dict[int, int] = {}  # open section -> its thread
_pending: dict[int, int] = {}  # thread -> the section its last interrupt was aimed at
_ids = itertools.count(1)


def open_section() -> int:
    """Open a section in the calling thread; returns its token for `interrupt` and `close_section`."""
    token = next(_ids)
    with _lock:
        _owners[token] = threading.get_ident()
    return token


def interrupt(section: int, exc: type[BaseException] = KeyboardInterrupt) -> bool:
    """Raise `exc` in the section's thread at its next bytecode; False (and nothing) if it has closed."""
    with _lock:
        thread_id = _owners.get(section)
        if thread_id is None:
            return False
        interrupt_thread(thread_id, exc)
        _pending[thread_id] = section
        return True


def close_section(section: int) -> None:
    """Close `section` from its own thread; after this returns no interrupt aimed at it can arrive.

    One that arrives while closing is absorbed (the work is over); one sent but not yet raised
    is withdrawn, unless a later interrupt aimed at an enclosing section replaced it. Closing
    twice is harmless.
    """
    while True:
        try:
            with _lock:
                thread_id = _owners.pop(section, None)
                if thread_id is not None and _pending.get(thread_id) == section:
                    del _pending[thread_id]
                    clear_interrupt(thread_id)
            return
        except BaseException:  # noqa: BLE001, S112 - aimed at this section, which is ending
            continue


def interrupt_thread(thread_id: int | None, exc: type[BaseException] = KeyboardInterrupt) -> None:
    """Raise `exc` asynchronously in the thread `thread_id` (at its next bytecode), whatever it runs."""
    import ctypes

    if thread_id is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc))


def clear_interrupt(thread_id: int) -> None:
    """Drop an exception scheduled by `interrupt_thread` that has not fired yet."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
