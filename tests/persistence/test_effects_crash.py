"""Tools that run once across a crash: SIGKILL a real run at random points while its code calls
a side-effecting tool (which appends to a file) and a managed agent, then resume it.

After resume every run succeeds; the idempotent tool's effect is in the file exactly once; the
plain side-effecting tool's at most once (and when the crash cut it short, the run says it may
have run); no completed model call is asked again."""

import os
import random
from pathlib import Path

import pytest

from smolnb.persistence import RunStore
from tests.helpers import task_message
from tests.openai_server import ScriptedOpenAIServer, completion

from .effects_worker import make_agent
from .killing import kill_after, step_of

KILLS = int(os.environ.get("SMOLNB_EFFECT_KILLS", "30"))
MAIN = [
    "Thought: log.\n```python\nn = append_line('a')\nprint(n)\n```",
    "Thought: ask.\n```python\nr = helper('helper task: say hi')\nprint(r)\n```",
    "Thought: mail.\n```python\nm = send_mail('b')\nprint(m)\n```",
    "Thought: done.\n```python\nfinal_answer('done')\n```",
]
HELPER = "Thought: hi.\n```python\nimport time\ntime.sleep(0.05)\nfinal_answer('hi')\n```"


def who(body):
    first = task_message(body["messages"])
    return "helper" if "helper task" in first else "main"


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as srv:
        srv.default = None
        srv.replies.clear()

        def reply_for(body):
            if who(body) == "helper":
                return completion(HELPER, body)
            return completion(MAIN[min(step_of(body), len(MAIN) - 1)], body)

        srv.responder = reply_for
        yield srv


def kill_and_resume(server, tmp_path, seed):
    rng = random.Random(seed)
    kill_at = rng.randint(1, len(MAIN) + 1)  # after the k-th model request (the helper's included)...
    delay = rng.uniform(0, 0.15)  # ...plus a moment: in the call, the tool, the store write
    store_path = tmp_path / "runs.db"
    worker = Path(__file__).with_name("effects_worker.py")
    kill_after(server, worker, [server.base_url, str(store_path), str(tmp_path)], kill_at, delay)
    before = [(who(r["body"]), step_of(r["body"])) for r in server.requests]
    store = RunStore(store_path)
    main = [r for r in store.runs() if r.parent_run_id is None]
    assert len(main) == 1
    record = main[0]
    if record.status == "success":  # the kill came after the answer
        result = None
    else:
        result = make_agent(server.base_url, str(store_path), str(tmp_path)).resume_run(record.run_id)
        assert result.status == "success" and result.output == "done", (result.status, result.error)
    after = [(who(r["body"]), step_of(r["body"])) for r in server.requests[len(before) :]]
    lines = (tmp_path / "log.txt").read_text().splitlines() if (tmp_path / "log.txt").exists() else []
    mails = (tmp_path / "mail.txt").read_text().splitlines() if (tmp_path / "mail.txt").exists() else []
    return {
        "kill_at": kill_at,
        "delay": delay,
        "status": record.status,
        "result": result,
        "before": before,
        "after": after,
        "log": lines,
        "mail": mails,
    }


@pytest.mark.parametrize("attempt", range(KILLS))
def test_sigkill_then_resume_runs_each_effect_once(server, tmp_path, attempt):
    out = kill_and_resume(server, tmp_path, attempt)
    assert [line.split("|")[0] for line in out["log"]] == ["a"], out["log"]  # exactly once
    assert len(out["mail"]) <= 1, out["mail"]  # at most once
    if not out["mail"] and out["result"] is not None:
        observations = " ".join(s.observation for s in out["result"].steps)
        assert "may have" in observations or "send_mail" not in observations
    # only a request in flight at the kill may be asked again (its reply was never recorded)
    repeated = set(out["before"]) & set(out["after"])
    assert repeated <= {out["before"][-1]} if out["before"] else not repeated, (out["before"], out["after"])


def test_a_call_cut_short_is_reported_not_repeated(tmp_path):
    """In-process: a run whose tool started but never finished (as a crash leaves it)."""
    from smolnb import CodeAgent, tool
    from smolnb.events import ModelCall, RunStart, Step, StepStart, ToolCall
    from smolnb.models import TestModel

    calls = []

    @tool
    def charge(amount: int) -> str:
        """Charge a card.

        Args:
            amount: In cents.
        """
        calls.append(amount)
        return "charged"

    store = RunStore(tmp_path / "runs.db")
    code = "Thought: pay.\n```python\nprint(charge(500))\n```"
    run_id = "20261130-000000-abcdef"
    # the step cut short is replayed from its recorded reply; the model is asked only for step 2
    agent = CodeAgent(model=TestModel(["```python\nfinal_answer('ok')\n```"]), tools=[charge], store=store)
    from smolnb.agent.effects import Effects

    key = Effects().key(1, "charge", {"amount": 500})
    for event in [
        RunStart(run_id=run_id, step=0, task="pay", agent="CodeAgent", agent_type="code", model="test"),
        StepStart(run_id=run_id, step=1),
        ModelCall(run_id=run_id, step=1, purpose="action", output=code),
        ToolCall(run_id=run_id, step=1, name="charge", version="0.1.0", arguments={"amount": "500"}, key=key, phase="started"),
    ]:
        store.listener(event)
    result = agent.resume_run(run_id)
    assert result.status == "success"
    assert calls == []  # not charged twice
    assert "may have had its effect" in result.steps[0].observation
    assert isinstance(result.steps[0], Step)
