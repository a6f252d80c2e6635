"""The scheduler (priority, rate limits, cancellation, timeouts), many runs at once, and
managed agents called in parallel, against a real OpenAI-compatible server on 127.0.0.1."""

import asyncio
import threading
import time

import pytest

from smolnb import CodeAgent, run_many
from smolnb.models import FunctionModel, LiteLLMModel, OpenAIAPIModel, TestModel
from smolnb.scheduling import Scheduler, scheduler
from tests.helpers import py, task_message
from tests.openai_server import ScriptedOpenAIServer


@pytest.fixture(autouse=True)
def default_limits():
    scheduler.reset()
    yield
    scheduler.reset()


def test_high_priority_submitted_last_starts_before_low_priority_submitted_first():
    sched = Scheduler()
    sched.configure("m", concurrency=1)
    order = []

    async def request(name, priority, hold=0.0):
        async with sched.slot("m", priority=priority):
            order.append(name)
            await asyncio.sleep(hold)

    async def main():
        blocker = asyncio.create_task(request("blocker", 0, hold=0.05))
        await asyncio.sleep(0.01)  # the queue is saturated: the blocker holds the only slot
        low = [asyncio.create_task(request(f"low{i}", 0)) for i in range(5)]
        await asyncio.sleep(0.005)
        high = [asyncio.create_task(request(f"high{i}", 5)) for i in range(5)]
        await asyncio.gather(blocker, *low, *high)

    asyncio.run(main())
    assert order == ["blocker"] + [f"high{i}" for i in range(5)] + [f"low{i}" for i in range(5)]
    [row] = sched.stats()
    assert row["started"] == 11 and row["queued"] == 0 and set(row["mean_wait_s_by_priority"]) == {5, 0}


def test_a_requests_per_window_limit_is_never_exceeded_in_any_window():
    sched = Scheduler()
    sched.configure("m", rpm=5, window=0.4)
    starts = []

    async def request():
        turn = await sched.acquire("m")
        starts.append(turn.record[0])
        sched.release("m", turn)

    async def main():
        await asyncio.gather(*(request() for _ in range(17)))

    asyncio.run(main())
    starts.sort()
    assert len(starts) == 17
    for t in starts:
        assert sum(1 for s in starts if t <= s < t + 0.4) <= 5
    assert starts[-1] - starts[0] >= 3 * 0.4  # 17 requests at 5 a window need at least 4 windows


def test_token_limit_holds_requests_back():
    sched = Scheduler()
    sched.configure("m", tpm=100, window=0.3)
    starts = []

    async def request():
        turn = await sched.acquire("m", tokens=60)
        starts.append(turn.record[0])
        sched.release("m", turn)

    async def main():
        await asyncio.gather(*(request() for _ in range(3)))

    asyncio.run(main())
    assert starts[1] - starts[0] >= 0.29 and starts[2] - starts[1] >= 0.29  # 60 + 60 > 100: one a window


def test_cancelled_waiters_leave_the_queue_and_running_ones_free_their_slot():
    sched = Scheduler()
    sched.configure("m", concurrency=1)

    async def hold(event):
        async with sched.slot("m"):
            await event.wait()

    async def main():
        gate = asyncio.Event()
        running = asyncio.create_task(hold(gate))
        await asyncio.sleep(0.01)
        waiting = [asyncio.create_task(hold(gate)) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert sched.stats()[0]["queued"] == 3
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        assert sched.stats()[0]["queued"] == 0 and sched.stats()[0]["running"] == 1
        running.cancel()  # cancelled while holding the slot
        await asyncio.gather(running, return_exceptions=True)
        assert sched.stats()[0]["running"] == 0
        async with sched.slot("m"):  # the slot is free again
            pass
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(main())


@pytest.mark.parametrize("client", ["litellm", "openai-api"])
def test_a_timed_out_request_is_cut_off_everywhere(smolnb_home, client):
    with ScriptedOpenAIServer() as server:
        server.default = py("final_answer(1)")
        if client == "litellm":
            model = LiteLLMModel("openai/slow", api_base=server.base_url, api_key="sk-test", max_retries=0)
        else:
            model = OpenAIAPIModel("slow", api_base=server.base_url, api_key="sk-test", max_retries=0)
        assert CodeAgent(model=model, max_steps=1).run("Warm up.").output == 1  # client imported and made
        server.latency = 3.0
        scheduler.configure(model.model_id, timeout=0.3)
        threads_before = threading.active_count()
        result = CodeAgent(model=model, max_steps=1).run("Anything.")
        assert result.status == "error" and "did not answer within 0.3 s" in result.error
        deadline = time.monotonic() + 5
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.in_flight == 0 and server.abandoned >= 1  # the server saw the client hang up
        assert scheduler.stats()[0]["running"] == 0
        time.sleep(0.2)
        assert threading.active_count() <= threads_before + 1  # at most litellm's logging worker stays


def test_run_many_returns_results_in_order_and_runs_at_once(smolnb_home):
    with ScriptedOpenAIServer() as server:
        server.responder = lambda body: py(f"final_answer({task_message(body['messages']).split()[-1]!r})")
        server.latency = 0.2
        model = LiteLLMModel("openai/scripted", api_base=server.base_url, api_key="sk-test", max_retries=0)
        agent = CodeAgent(model=model, max_steps=2)
        results = run_many(agent, [f"Echo {i}" for i in range(12)], concurrency=6, progress=False)
    assert [r.output for r in results] == [str(i) for i in range(12)]
    assert len({r.run_id for r in results}) == 12
    assert server.max_in_flight == 6  # six runs at a time, as asked


def test_a_manager_calls_four_helpers_in_parallel_from_one_code_block(smolnb_home):
    with ScriptedOpenAIServer() as server:
        server.responder = lambda body: py(f"final_answer('done: ' + {task_message(body['messages'])[-7:]!r})")
        server.latency = 0.5
        helpers = [
            CodeAgent(
                model=LiteLLMModel(f"openai/helper-{i}", api_base=server.base_url, api_key="sk-test", max_retries=0),
                name=f"helper{i}",
                description=f"Helper number {i}.",
            )
            for i in range(4)
        ]
        manager_model = TestModel(
            [
                py(
                    "answers = parallel([(helper0, 'job one'), (helper1, 'job two'), (helper2, 'job six'), (helper3, 'job ten')])\nprint(answers)"
                ),
                py("final_answer(answers)"),
            ]
        )
        result = CodeAgent(model=manager_model, managed_agents=helpers).run("Do four jobs.")
    assert result.output == ["done: job one", "done: job two", "done: job six", "done: job ten"]
    assert server.max_in_flight == 4  # all four helpers waited on the model at the same time
    starts = sorted(s for s, _ in server.spans)
    ends = sorted(e for _, e in server.spans)
    assert starts[-1] < ends[0]  # every request began before any finished: the waits overlapped
    assert "parallel([(helper_a" in manager_model.calls[0]["messages"][0]["content"]
    children = {e.run_id for e in result.events if e.type == "run_start" and e.parent_run_id == result.run_id}
    assert len(children) == 4  # the helpers' runs nest under the manager's step


def test_local_models_default_to_one_request_at_a_time():
    assert scheduler.limits_for("local/qwen2.5-coder-0.5b").concurrency == 1
    assert scheduler.limits_for("openai/gpt-4o-mini").concurrency is None
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        scheduler.configure("x", concurrency=0)


def test_priority_reaches_the_scheduler_from_the_agent(smolnb_home):
    seen = []

    def reply(messages, **info):
        seen.append(scheduler.stats())
        return py("final_answer(1)")

    CodeAgent(model=FunctionModel(reply, model_id="prio-fn"), priority=7).run("x")
    [row] = [r for r in seen[0] if r["model"] == "prio-fn"]
    assert row["running"] == 1 and 7 in row["mean_wait_s_by_priority"]
