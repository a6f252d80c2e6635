"""Raising an exception in another thread, at its next bytecode.

Without importing asyncio: the sandbox worker and the watchdog need only this.
"""

from __future__ import annotations

__all__ = ["clear_interrupt", "interrupt_thread"]


def interrupt_thread(thread_id: int | None, exc: type[BaseException] = KeyboardInterrupt) -> None:
    """Raise `exc` asynchronously in the thread `thread_id` (at its next bytecode)."""
    import ctypes

    if thread_id is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc))


def clear_interrupt(thread_id: int) -> None:
    """Drop an exception scheduled by `interrupt_thread` that has not fired yet."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
