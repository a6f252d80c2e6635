"""The worker threads that run code blocks and tools of concurrent runs."""

import threading
import time

import pytest

from smolnb._sync import _Workers


def test_workers_are_reused_and_return_values_and_errors():
    pool = _Workers()
    before = threading.active_count()
    for i in range(50):
        future, _ = pool.submit(lambda i=i: i * 2)
        assert future.result(timeout=5) == i * 2
    future, _ = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result(timeout=5)
    assert threading.active_count() <= before + 1  # one thread served all 51 jobs, one after another


def test_an_interrupt_stops_its_job_and_never_reaches_the_next():
    pool = _Workers()
    started = threading.Event()

    def spin():
        started.set()
        while True:
            time.sleep(0.001)

    future, interrupt = pool.submit(spin)
    assert started.wait(5)
    interrupt()
    with pytest.raises(KeyboardInterrupt):
        future.result(timeout=5)
    interrupt()  # too late: the job is over, so this does nothing
    # The same worker runs the next jobs, untouched by interrupts aimed at the finished one.
    results = [pool.submit(lambda: sum(range(10_000)))[0].result(timeout=5) for _ in range(20)]
    assert results == [49_995_000] * 20


def test_interrupts_race_job_ends_without_losing_a_job():
    """Interrupts sent while jobs finish (as a cancelled run does) end at most their own job."""
    pool = _Workers()
    outcomes = []
    for i in range(300):
        future, interrupt = pool.submit(lambda: sum(range(2_000)))
        if i % 2:
            interrupt()  # lands in the job, or after it, where it is dropped
        try:
            outcomes.append(future.result(timeout=5))
        except KeyboardInterrupt:
            outcomes.append("interrupted")
    assert set(outcomes) <= {1_999_000, "interrupted"} and outcomes[::2] == [1_999_000] * 150
    assert pool.submit(lambda: "alive")[0].result(timeout=5) == "alive"
