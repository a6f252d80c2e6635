"""Bad input never reaches a traceback: each case gets a clear message, and no run is left
`running` in the store."""

import sqlite3

import pytest

from smolnb import CodeAgent
from smolnb.errors import UserError
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from tests.helpers import task_message

ANSWER = "```python\nfinal_answer(4)\n```"


def agent_for(tmp_path, *replies, **options):
    return CodeAgent(model=TestModel(list(replies) or [ANSWER]), store=RunStore(tmp_path / "runs.db"), **options)


def statuses(tmp_path):
    with sqlite3.connect(tmp_path / "runs.db") as db:
        return [row[0] for row in db.execute("select status from runs")]


# task -> (what happens: "ok" or the words the error must contain)
TASKS = {
    "empty": ("", "the task is empty"),
    "blank": ("   \n\t", "the task is empty"),
    "bytes_utf8": (b"What is 2 + 2?", "ok"),
    "bytes_undecodable": (b"\xff\xfe\xfa what?", "not valid UTF-8"),
    "lone_surrogate": ("caf\udce9 what is 2 + 2?", "ok"),
    "nul_bytes": ("what\x00 is 2 + 2?", "ok"),
    "one_megabyte": ("x" * (1 << 20) + " what is 2 + 2?", "ok"),
    "not_text": (42, "the task must be text"),
    "none": (None, "the task must be text"),
}


@pytest.mark.parametrize("case", sorted(TASKS))
def test_bad_tasks(case, tmp_path):
    task, expect = TASKS[case]
    agent = agent_for(tmp_path)
    if expect == "ok":
        result = agent.run(task)
        assert result.status == "success" and result.output == 4
        assert "\udce9" not in result.task
    else:
        with pytest.raises(UserError, match=expect):
            agent.run(task)
    assert "running" not in statuses(tmp_path) if (tmp_path / "runs.db").exists() else True


def test_unknown_executor_is_named_before_any_run(tmp_path):
    with pytest.raises(UserError, match="unknown executor 'sandboxx'.*sandbox"):
        agent_for(tmp_path, executor="sandboxx")


def test_a_run_that_fails_to_start_is_not_left_running(tmp_path, monkeypatch):
    agent = agent_for(tmp_path)

    async def broken(ctx, variables):
        raise RuntimeError("the executor could not start")

    monkeypatch.setattr(agent, "_start_run", broken)
    result = agent.run("What is 2 + 2?")
    assert result.status == "error"
    assert "could not start" in result.error
    assert statuses(tmp_path) == ["error"]


@pytest.mark.parametrize(
    "code, words",
    [
        ("x = " + "+".join(["1"] * 5000), "nested this deeply"),
        ("raise SystemExit(3)", "cannot exit"),
        ("def f():\n    return f()\nf()", "RecursionError"),
        ("x = bytearray(1 << 40)", "MemoryError"),
    ],
)
def test_bad_code_becomes_a_step_error(code, words, tmp_path):
    agent = agent_for(tmp_path, f"```python\n{code}\n```", ANSWER)
    result = agent.run("What is 2 + 2?")
    assert result.status == "success", result.error
    assert words in result.steps[0].observation
    assert statuses(tmp_path) == ["success"]


def test_a_huge_reply_is_handled(tmp_path):
    reply = "Thought: " + "very long thinking " * 11_000 + "\n" + ANSWER
    assert len(reply) > 200_000
    result = agent_for(tmp_path, reply).run("What is 2 + 2?")
    assert result.status == "success" and result.output == 4


def test_surrogates_in_code_output_and_replies_are_stored(tmp_path):
    agent = agent_for(
        tmp_path,
        "Thought: caf\udce9\n```python\nprint('caf\\udce9')\nx = '\\ud800'\n```",
        "```python\nfinal_answer('4\\udce9')\n```",
    )
    result = agent.run("What is 2 + 2?")
    assert result.status == "success" and result.output.startswith("4")
    assert statuses(tmp_path) == ["success"]


def test_the_summary_counts_steps_and_says_why_there_is_one_more_call(tmp_path):
    result = agent_for(tmp_path, "```python\nx = 1\n```", "I give up.", max_steps=1).run("What is 2 + 2?")
    assert result.status == "max_steps"
    summary = result.summary()
    assert "1 step ·" in summary and "1 steps" not in summary
    assert "2 model calls (the last one asked for a final answer after the step limit)" in summary


def test_the_task_comes_last_in_the_prompt_after_what_the_run_knows():
    """Small models answer the last thing they read: with the memories after the task, the 0.5B
    model ignored a recalled '64 GPUs' and answered 100 (notebooks/memory.ipynb)."""
    model = TestModel(["```python\nfinal_answer(1)\n```"])
    CodeAgent(model=model, namespace={"quota_note": "64 GPUs"}).run("What is the quota?")
    user = task_message(model.calls[0]["messages"])
    assert user.endswith("Task: What is the quota?") and "quota_note" in user.split("Task:")[0]
