"""Interrupts land only in the work they were aimed at: never after it, never in the next job."""

import threading
import time

import pytest

from smolnb import _interrupt
from smolnb._sync import _Workers
from smolnb.errors import ExecutionTimeout
from smolnb.executor import LocalExecutor, Policy, deadline
from smolnb.executor.watchdog import Watchdog


def _plain_work(seconds, *, until_one=False):
    """Run Python bytecode for `seconds` (or until one arrives); count the exceptions that arrive from elsewhere."""
    arrived = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until_one and arrived):
        try:
            sum(range(1_000))
        except BaseException:  # noqa: BLE001 - counting strays is the point
            arrived += 1
    return arrived


def test_an_interrupt_aimed_at_a_closed_section_is_dropped():
    section = _interrupt.open_section()
    _interrupt.close_section(section)
    assert _interrupt.interrupt(section, ExecutionTimeout) is False
    assert _plain_work(0.2) == 0


def test_an_open_section_gets_its_interrupt_from_another_thread():
    section = _interrupt.open_section()
    sender = threading.Timer(0.05, _interrupt.interrupt, (section, ExecutionTimeout))
    sender.start()
    with pytest.raises(ExecutionTimeout):
        _plain_work_uncaught(5.0)
    _interrupt.close_section(section)
    assert _plain_work(0.2) == 0


def _plain_work_uncaught(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1_000))


def test_closing_an_inner_section_leaves_the_outer_one_interruptible():
    """A user's interrupt of the job still reaches it after a code block inside it ended."""
    outer = _interrupt.open_section()
    inner = _interrupt.open_section()
    _interrupt.close_section(inner)
    assert _interrupt.interrupt(inner, ExecutionTimeout) is False
    threading.Timer(0.05, _interrupt.interrupt, (outer, KeyboardInterrupt)).start()
    with pytest.raises(KeyboardInterrupt):
        _plain_work_uncaught(5.0)
    _interrupt.close_section(outer)


def test_a_clock_swallowed_in_the_block_stops_firing_once_disarmed():
    dog = Watchdog()
    token = dog.arm(0.02)
    try:
        # the code catches every timeout it gets; on a busy machine the first may take a while
        swallowed = _plain_work(30.0, until_one=True)
    finally:
        disarmed = dog.disarm(token)  # never left firing at the test runner, pass or fail
    assert swallowed >= 1 and disarmed is True
    assert _plain_work(0.6) == 0


def test_a_block_whose_cleanup_is_slow_ends_as_a_timeout_and_its_worker_serves_on(monkeypatch):
    """The watchdog fires every 0.25 s until the clock stops: slow cleanup must not let a fire out.

    Before, a fire that landed in the executor's cleanup skipped stopping the clock; it then went
    on firing at the worker thread after the job, killed it while idle, and the next job hung.
    """
    ex = LocalExecutor(Policy(), timeout=0.2)
    end = deadline.end

    def slow_end():
        time.sleep(0.6)  # Python code: a pending timeout is raised when it returns
        end()

    monkeypatch.setattr(deadline, "end", slow_end)
    pool = _Workers()
    future, _ = pool.submit(lambda: ex.run("while True:\n    pass"))
    result = future.result(timeout=10)
    assert result.error_kind == "timeout"
    monkeypatch.setattr(deadline, "end", end)
    assert ex.namespace.get("__builtins__") is None  # the executor put the namespace back
    later = [pool.submit(lambda: _plain_work(0.6))[0].result(timeout=10) for _ in range(2)]
    assert later == [0, 0]
    assert pool.submit(lambda: "alive")[0].result(timeout=5) == "alive"
    assert threading.active_count() < 50
