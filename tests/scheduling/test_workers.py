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


@pytest.mark.timeout(60)
def test_a_failed_sync_call_never_waits_on_litellm_s_logging_worker_of_another_loop():
    """litellm keeps one logging worker per process, bound to the loop that started it; closing
    a different loop must not wait on its task (which that loop alone can finish): that hung forever."""
    import asyncio

    from smolnb._sync import run_sync

    logging_worker = pytest.importorskip("litellm.litellm_core_utils.logging_worker")
    worker = logging_worker.GLOBAL_LOGGING_WORKER
    other = asyncio.new_event_loop()

    async def start():
        worker.start()

    other.run_until_complete(start())  # its task now belongs to `other`, which is not running

    async def fail():
        raise ValueError("the judge said perhaps")

    try:
        with pytest.raises(ValueError, match="perhaps"):  # a hang fails by the test's timeout
            run_sync(fail())  # on the main thread's loop; failing closes that loop
    finally:
        other.run_until_complete(worker.stop())
        other.close()
