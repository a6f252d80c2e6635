"""Concurrent runs over one namespace (`%%agent --batch`, `run_many`) each see the notebook's
variables and keep their own: none overwrites another's."""

import asyncio
import re

from smolnb import CodeAgent, run_many
from smolnb.models import FunctionModel, TestModel
from tests.helpers import replies, task_message


def stepwise(messages, **_):
    """Step 1 stores the task's sum in `x`; step 2 (after the others had their turn) answers x."""
    task = task_message(messages)
    a, b = map(int, re.search(r"(\d+)\+(\d+)", task).groups())
    done = replies(messages)
    if done == 0:
        return f"```python\nx = {a} + {b}\nbase = offset\n```"
    return "```python\nfinal_answer(x + base)\n```"


async def slow_stepwise(messages, **kw):
    await asyncio.sleep(0.05)  # every run's first step lands before any second step
    return stepwise(messages, **kw)


def test_concurrent_runs_over_one_namespace_keep_their_own_variables():
    ns = {"offset": 0}
    agent = CodeAgent(model=FunctionModel(slow_stepwise), namespace=ns, store=None)
    results = run_many(agent, ["compute: 1+1", "compute: 2+2", "compute: 3+3"], concurrency=3, progress=False)
    assert [r.output for r in results] == [2, 4, 6]
    assert ns == {"offset": 0} or "x" not in ns or ns["x"] in (2, 4, 6)


def test_a_clone_sees_the_notebook_variables_and_leaves_them_alone():
    ns = {"offset": 10}
    agent = CodeAgent(model=FunctionModel(stepwise), namespace=ns, store=None)
    twin = agent.clone()
    result = twin.run("compute: 1+2")
    assert result.output == 13
    assert "x" not in ns  # the twin's variables are its own
    result = agent.run("compute: 2+2")  # the agent itself works in the notebook's namespace
    assert result.output == 14 and ns["x"] == 4


def test_tools_and_final_answer_do_not_replace_or_leak_into_the_namespace():
    from smolnb import tool

    @tool
    def double(x: int) -> int:
        """Double a number.

        Args:
            x: The number.
        """
        return 2 * x

    ns = {"double": double}
    replies = iter(["```python\ny = double(21)\n```", "```python\nfinal_answer(y)\n```"])
    agent = CodeAgent(model=FunctionModel(lambda m, **_: next(replies)), tools=[double], namespace=ns, store=None)
    result = agent.run("double 21")
    assert result.output == 42
    assert ns["double"] is double and double(5) == 10  # the user's own tool, untouched
    assert "final_answer" not in ns
    assert ns["y"] == 42  # what the code made stays


def test_the_prompt_gets_the_variables_the_task_needs():
    import pandas as pd

    from smolnb.agent.code_agent import describe_variables

    class Loud:
        __module__ = "__smolnb_agent__"  # an object of a class the agent's code defined

        def __repr__(self):
            raise AssertionError("the host rendered the agent's object")

    ns = {"df": pd.DataFrame({"city": ["a"], "population_k": [3]}), "prime_count": 168, "thing": Loud(), "notes": "x" * 50}
    text = describe_variables(ns, task="Which city in df has the largest population_k?")
    assert "df: DataFrame" in text and "population_k" in text
    assert "168" not in text  # an unrelated number is not offered as data
    assert "prime_count" in text  # its name is listed, for a task that needs it
    text = describe_variables(ns, task="Is prime_count even?")
    assert "prime_count: int = 168" in text


def test_variables_given_to_a_run_are_shown_to_the_model():
    # Data handed to `run(variables=...)` (an eval's tables, a caller's inputs) was set in the
    # session but never described: a small model guessed its shape (rows unpacked as tuples).
    model = TestModel(["```python\nfinal_answer(len(staff))\n```"])
    staff = [{"name": "Ada", "team": "infra", "salary": 120}, {"name": "Bo", "team": "ops", "salary": 90}]
    result = CodeAgent(model=model).run("What is the mean salary of team infra?", variables={"staff": staff})
    assert result.output == 2
    prompt = "\n".join(m["content"] for m in model.calls[0]["messages"])
    assert "staff: a list of 2 dicts" in prompt and "'team': 'infra'" in prompt


def test_rows_of_dicts_are_described_as_rows_with_how_to_read_a_value():
    # Told `list len=40 columns=[...]`, the 0.5B unpacked the dict rows as tuples
    # (`for units, product, region, price in sales`) on 5 of 31 data tasks.
    model = TestModel(["```python\nfinal_answer(1)\n```"])
    staff = [{"name": "Ada", "team": "infra", "salary": 120}, {"name": "Bo", "team": "ops", "salary": 90}]
    CodeAgent(model=model).run("What is the mean salary of team infra?", variables={"staff": staff})
    prompt = task_message(model.calls[0]["messages"])
    assert "- staff: a list of 2 dicts (rows) with keys name, team, salary;" in prompt
    assert "staff[0]['name'] is 'Ada'" in prompt and "columns=" not in prompt
