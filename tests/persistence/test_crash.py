"""Kill a run with SIGKILL at random points; `resume` finishes it without repeating a completed
model call. The model is a scripted OpenAI-compatible server that counts its calls."""

import os
import random
from pathlib import Path

import pytest

from smolnb import CodeAgent
from smolnb.models import OpenAIAPIModel
from smolnb.persistence import RunStore
from tests.openai_server import ScriptedOpenAIServer, completion

from .killing import kill_after, step_of

KILLS = int(os.environ.get("SMOLNB_CRASH_KILLS", "20"))
STEPS = [f"Thought: count.\n```python\nimport time\nx{i} = {i}\ntime.sleep(0.03)\nprint(x{i})\n```" for i in range(4)]
STEPS.append("Thought: done.\n```python\nimport time\ntime.sleep(0.3)\nfinal_answer(sum(range(5)))\n```")


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as srv:
        srv.default = None
        srv.replies.clear()

        # answer by step index, as a deterministic model would for the same conversation
        def reply_for(body):
            index = step_of(body)
            return completion(STEPS[min(index, len(STEPS) - 1)], body)

        srv.responder = reply_for
        yield srv


@pytest.mark.parametrize("attempt", range(KILLS))
def test_sigkill_then_resume(server, tmp_path, attempt):
    rng = random.Random(attempt)
    kill_at = rng.randint(1, len(STEPS))  # after the k-th model request...
    delay = rng.uniform(0, 0.12)  # ...plus a random moment (in the call, the code, the store write)
    store_path = tmp_path / "runs.db"
    kill_after(server, Path(__file__).with_name("crash_worker.py"), [server.base_url, str(store_path)], kill_at, delay)
    before = [step_of(r["body"]) for r in server.requests]
    store = RunStore(store_path)
    [record] = store.runs()
    assert record.status == "crashed"  # its process is gone: not "running" forever
    model = OpenAIAPIModel("scripted", api_base=server.base_url, api_key="sk-crash-test", max_retries=0)
    result = CodeAgent(model=model, store=store, max_steps=8).resume_run(record.run_id)
    after = [step_of(r["body"]) for r in server.requests[len(before) :]]
    assert result.status == "success" and result.output == 10
    repeated = set(before) & set(after)
    # only the request in flight at the kill may be asked again
    assert repeated <= {before[-1]}, (before, after)
    assert set(before) | set(after) >= set(range(len(STEPS)))
