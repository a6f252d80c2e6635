"""Run a coroutine to completion from sync code, also inside a running event loop (Jupyter)."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import logging
import queue
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._interrupt import close_section, interrupt, open_section

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` and return its result.

    With no loop running in this thread this is `asyncio.run`. Inside a running loop (a
    Jupyter cell) the coroutine runs on a fresh loop in a helper thread while this thread
    waits; a KeyboardInterrupt here (the kernel's interrupt) cancels the coroutine and is
    re-raised once it has stopped.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if threading.current_thread() is threading.main_thread():
            return _run_on_main_loop(coro)
        return asyncio.run(coro)

    result: concurrent.futures.Future[T] = concurrent.futures.Future()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop
        task = loop.create_task(coro)
        holder["task"] = task
        holder["section"] = section = open_section()  # the waiter's Ctrl-C reaches the run, not _close
        started.set()
        try:
            try:
                outcome = loop.run_until_complete(task)
            finally:
                close_section(section)
            result.set_result(outcome)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            if task.done() and not task.cancelled():
                task.exception()  # retrieved here: it travels on through `result`
            result.set_exception(exc)
        finally:
            _close(loop)

    # The caller's context goes with it: a kernel keeps the cell's output and input routing there.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,), name="smolnb-run", daemon=True)
    thread.start()
    started.wait()
    try:
        return result.result()
    except KeyboardInterrupt:
        loop, task = holder["loop"], holder["task"]
        interrupt(holder["section"])
        loop.call_soon_threadsafe(task.cancel)
        try:
            return result.result(timeout=5)
        except BaseException:  # noqa: BLE001 - whatever ended it, the caller was interrupted
            raise KeyboardInterrupt from None


_main_loop: asyncio.AbstractEventLoop | None = None


def _run_on_main_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run on one loop kept for sync calls from the main thread (a new loop per call costs more than a step).

    Unlike `asyncio.run`, Ctrl-C raises KeyboardInterrupt at once inside the running code
    instead of only scheduling a cancellation.
    """
    global _main_loop
    if _main_loop is None or _main_loop.is_closed():
        _main_loop = asyncio.new_event_loop()
        atexit.register(_close, _main_loop)
    loop = _main_loop
    try:
        return loop.run_until_complete(coro)
    except BaseException:
        # Leave no half-run task behind: the next call starts on a fresh loop.
        _main_loop = None
        _close(loop)
        raise


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on `loop` (e.g. litellm's logging worker), then close it."""
    if loop.is_closed():
        return
    try:
        worker = getattr(sys.modules.get("litellm.litellm_core_utils.logging_worker"), "GLOBAL_LOGGING_WORKER", None)
        task = getattr(worker, "_worker_task", None)
        # Only the loop its task belongs to can stop it: from another loop, stop() waits forever.
        if worker is not None and (task is None or task.get_loop() is loop):
            # Shut litellm's logging task down its own way; its shutdown logs spurious errors.
            quiet = logging.getLogger("LiteLLM")
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)
            try:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.sleep(0))
                    loop.run_until_complete(asyncio.wait_for(worker.stop(), timeout=5))
            finally:
                quiet.setLevel(level)
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


class _Workers:
    """Reusable threads for code blocks and tools, each interruptible while it runs a job.

    A new thread costs about half a millisecond to start under load; a run makes one call per
    step, so threads are kept (idle ones leave after a minute).
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, fn: Any) -> tuple[concurrent.futures.Future[Any], Any]:
        """Run `fn()` on a worker; returns its future and a function that interrupts it while it runs."""
        job = _Job(fn)
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)
                return job.future, job.interrupt
        threading.Thread(target=self._work, args=(job,), name="smolnb-exec", daemon=True).start()
        return job.future, job.interrupt

    def _work(self, job: _Job | None) -> None:
        while job is not None:
            job.run()
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=60)
            except queue.Empty:
                with self._lock:
                    try:
                        job = self._jobs.get_nowait()  # handed over just as we timed out
                    except queue.Empty:
                        self._idle -= 1
                        job = None


class _Job:
    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.section: int | None = None

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        self.section = open_section()
        outcome: tuple[bool, Any] | None = None
        while True:  # an interrupt can land anywhere until the section is closed; after that, none can
            try:
                if outcome is None:
                    try:
                        outcome = (True, self.fn())
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                        outcome = (False, exc)
                close_section(self.section)
                break
            except BaseException as exc:  # noqa: BLE001 - an interrupt sent as the job ended
                if outcome is None:
                    outcome = (False, exc)
        ok, value = outcome
        if ok:
            self.future.set_result(value)
        else:
            self.future.set_exception(value)

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the job while it runs; nothing once it has ended."""
        if self.section is not None:
            interrupt(self.section)


workers = _Workers()


def run_in_thread(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run `fn` on a worker thread; cancelling the returned future interrupts it."""
    done, interrupt = workers.submit(fn)
    wrapped = asyncio.wrap_future(done)

    def on_done(fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            interrupt()

    wrapped.add_done_callback(on_done)
    return wrapped


_runs_on_loop: dict[asyncio.AbstractEventLoop, int] = {}


def loop_run_started(loop: asyncio.AbstractEventLoop) -> None:
    """An agent run began on `loop` (`alone_on_loop` counts them)."""
    _runs_on_loop[loop] = _runs_on_loop.get(loop, 0) + 1


def loop_run_ended(loop: asyncio.AbstractEventLoop) -> None:
    left = _runs_on_loop.pop(loop, 1) - 1
    if left:
        _runs_on_loop[loop] = left


def alone_on_loop() -> bool:
    """True when nothing else runs on the caller's event loop, so its code may run inline.

    Counting the loop's runs first spares the scan of every task when many runs share it.
    """
    return _runs_on_loop.get(asyncio.get_running_loop(), 0) <= 1 and len(asyncio.all_tasks()) <= 1
