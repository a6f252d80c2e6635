import asyncio

import pytest

from smolnb import CodeAgent, tool
from smolnb.errors import ModelError, TransientModelError, UserError
from smolnb.events import ModelCall, RunEnd, RunStart, Step, ToolCall
from smolnb.models import FunctionModel, TestModel
from tests.helpers import py, replies, run_messages


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def test_one_step_final_answer():
    model = TestModel([py("final_answer(6 * 7)")])
    result = CodeAgent(model=model).run("What is 6 times 7?")
    assert result.output == 42
    assert result.status == "success"
    assert len(result.steps) == 1 and result.steps[0].code == "final_answer(6 * 7)"
    assert result.run_id and result.usage.input_tokens > 0


def test_observation_feeds_the_next_step():
    model = TestModel([py("x = add(40, 2)\nprint('x =', x)"), py("final_answer(x)")])
    result = CodeAgent(model=model, tools=[add]).run("add")
    assert result.output == 42
    second_prompt = model.calls[1]["messages"]
    assert "x = 42" in second_prompt[-1]["content"]
    assert result.steps[0].tool_calls[0]["name"] == "add"
    assert result.steps[0].tool_calls[0]["version"] == "0.1.0"


def test_py_fence_and_unlabelled_reply_are_read():
    model = TestModel(["```py\nv = 3\n```", "final_answer(v + 1)"])
    assert CodeAgent(model=model).run("t").output == 4


def test_no_code_block_is_a_counted_format_error_and_the_model_retries():
    model = TestModel(["The answer is probably four.", py("final_answer(4)")])
    result = CodeAgent(model=model).run("2+2?")
    assert result.output == 4
    assert result.format_errors == 1
    assert result.steps[0].error_kind == "format"
    assert "no ```python code block" in model.calls[1]["messages"][-1]["content"]


def test_syntax_error_and_exception_keep_the_run_going():
    model = TestModel([py("x = (1,"), py("y = 1 / 0"), py("final_answer('ok')")])
    result = CodeAgent(model=model).run("t")
    assert [s.error_kind for s in result.steps] == ["syntax", "exception", None]
    assert "ZeroDivisionError" in model.calls[2]["messages"][-1]["content"]
    assert result.status == "success"


def test_refused_import_names_the_rule():
    model = TestModel([py("import socket"), py("final_answer(1)")])
    result = CodeAgent(model=model).run("t")
    assert result.steps[0].error_kind == "policy"
    assert "import of 'socket' is not allowed" in result.steps[0].observation


def test_timeout_is_an_observation():
    model = TestModel([py("while True:\n    pass"), py("final_answer('stopped')")])
    result = CodeAgent(model=model, code_timeout=0.3).run("t")
    assert result.steps[0].error_kind == "timeout"
    assert result.output == "stopped"


def test_tool_called_with_wrong_arguments():
    model = TestModel([py("add(1)"), py("add('a', 2)"), py("final_answer(add(a=1, b=2))")])
    result = CodeAgent(model=model, tools=[add]).run("t")
    assert "missing the argument 'b'" in result.steps[0].observation
    assert "must be integer" in result.steps[1].observation
    assert "Usage: add(a: integer, b: integer) -> integer" in result.steps[1].observation
    assert result.output == 3


def test_failing_tool_becomes_observation():
    @tool
    def flaky(city: str) -> str:
        """Look up a city.

        Args:
            city: Its name.
        """
        raise ConnectionError("upstream down")

    model = TestModel([py("flaky('Paris')"), py("final_answer('gave up')")])
    result = CodeAgent(model=model, tools=[flaky]).run("t")
    assert "tool 'flaky' failed: ConnectionError: upstream down" in result.steps[0].observation
    assert result.steps[0].tool_calls[0]["error"]


def test_max_steps_asks_for_a_best_answer():
    model = TestModel([py("print(1)"), py("print(2)"), py("final_answer('best guess')")])
    result = CodeAgent(model=model, max_steps=2).run("t")
    assert result.status == "max_steps"
    assert result.output == "best guess"
    assert result.steps[-1].kind == "final"
    assert "used all your steps" in model.calls[-1]["messages"][-1]["content"]


def test_max_steps_plain_text_answer():
    model = TestModel([py("print(1)"), "It is 12."])
    result = CodeAgent(model=model, max_steps=1).run("t")
    assert result.status == "max_steps" and result.output == "It is 12."


def test_planning_steps_every_n_and_plan_stays_in_prompt():
    model = TestModel(
        ["## Facts\nnone\n## Plan\n1. compute", py("a = 1"), py("b = 2"), "## Plan\n2. answer", py("final_answer(a + b)")]
    )
    result = CodeAgent(model=model, planning_interval=2).run("t")
    assert [s.kind for s in result.steps] == ["planning", "action", "action", "planning", "action"]
    assert result.output == 3
    # the newest plan is in the prompt of the step after it, and the old one is gone
    last = model.calls[-1]["messages"]
    contents = " ".join(str(m["content"]) for m in last)
    assert "2. answer" in contents and "1. compute" not in contents
    assert all("```" not in s.model_output for s in result.steps if s.kind == "planning")


def test_managed_agent_is_callable_from_code_and_nests():
    helper_model = TestModel([py("final_answer('Paris')")])
    helper = CodeAgent(model=helper_model, name="geo", description="Answers geography questions.")
    manager_model = TestModel([py("city = geo('capital of France?')\nprint(city)"), py("final_answer(city)")])
    events = []
    manager = CodeAgent(model=manager_model, managed_agents=[helper], listeners=[events.append])
    result = manager.run("Where is the Louvre?")
    assert result.output == "Paris"
    assert "geo(task: str) -> str: Answers geography questions." in manager_model.calls[0]["messages"][0]["content"]
    starts = [e for e in events if isinstance(e, RunStart)]
    assert len(starts) == 2
    child = starts[1]
    assert child.parent_run_id == result.run_id and child.parent_step == 1
    assert result.steps[0].tool_calls[0]["run_id"] == child.run_id


def test_managed_agent_needs_name_and_description():
    with pytest.raises(UserError, match="name= and description="):
        CodeAgent(model=TestModel(), managed_agents=[CodeAgent(model=TestModel())])


def test_authorized_imports_extend_the_default_set():
    model = TestModel([py("import csv, io\n"), py("import csv\nfinal_answer(csv.QUOTE_ALL)")])
    with pytest.raises(UserError):
        CodeAgent(model=model, authorized_imports=["io"])
    result = CodeAgent(model=model, authorized_imports=["csv"]).run("t")
    assert result.steps[0].error_kind == "policy"  # io is not authorized
    assert result.output == 1


def test_empty_task_is_refused():
    with pytest.raises(UserError, match="task is empty"):
        CodeAgent(model=TestModel()).run("   ")


def test_permanent_model_error_ends_the_run_with_status_error():
    model = TestModel([ModelError("openai/x: 401 invalid api key")])
    result = CodeAgent(model=model).run("t")
    assert result.status == "error"
    assert "invalid api key" in result.error and result.error_kind == "model"
    assert result.steps[0].error_kind == "model"


def test_transient_model_error_after_retries_is_an_error_result():
    model = TestModel([TransientModelError("rate limited (gave up after 5 attempts)")])
    result = CodeAgent(model=model).run("t")
    assert result.status == "error" and "gave up" in result.error and result.error_kind == "transient"


def test_events_are_typed_and_serialisable():
    events = []
    model = TestModel([py("print(add(1, 2))"), py("final_answer(3)")])
    result = CodeAgent(model=model, tools=[add], listeners=[events.append]).run("t")
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStart" and kinds[-1] == "RunEnd"
    assert sum(isinstance(e, ModelCall) for e in events) == 2
    assert sum(isinstance(e, ToolCall) for e in events) == 1
    assert sum(isinstance(e, Step) for e in events) == 2
    import json

    from smolnb.events import event_from_dict

    for event in events:
        data = json.loads(json.dumps(event.to_dict(), default=repr))
        assert data["run_id"] == result.run_id
        assert type(event_from_dict(data)) is type(event)
    assert isinstance(events[-1], RunEnd) and events[-1].status == "success"


def test_tools_added_and_removed_between_steps_of_a_live_run():
    @tool
    def mul(a: int, b: int) -> int:
        """Multiply.

        Args:
            a: The first.
            b: The second.
        """
        return a * b

    agent = None

    def reply(messages, **_):
        step = replies(messages)
        if step == 0:
            agent.tools.add(mul)
            agent.tools.remove("add")
            return py("print(add(1, 2))")
        if step == 1:
            assert "mul(a: integer, b: integer)" in messages[0]["content"]
            return py("print(mul(3, 4))")
        return py("final_answer('done')")

    agent = CodeAgent(model=FunctionModel(reply), tools=[add])
    result = agent.run("t")
    assert "'add' was removed" in result.steps[0].observation
    assert result.steps[1].stdout == "12\n"


def test_subprocess_executor_runs_tools_in_the_parent():
    model = TestModel([py("x = add(2, 3)"), py("final_answer(x * 10)")])
    result = CodeAgent(model=model, tools=[add], executor="subprocess").run("t")
    assert result.output == 50
    assert result.steps[0].tool_calls[0]["name"] == "add"


def test_run_inside_a_running_event_loop():
    async def main():
        agent = CodeAgent(model=TestModel([py("final_answer(1)")]))
        return agent.run("t")  # what a notebook cell does

    assert asyncio.run(main()).output == 1


async def test_arun_and_concurrent_runs():
    import threading

    # the four runs' code meets at a barrier: run one after another, the first would wait alone and break it
    barrier = threading.Barrier(4, timeout=60)

    @tool
    def meet() -> int:
        """Wait until every run has arrived.

        Returns:
            This run's place in the arrival order.
        """
        return barrier.wait()

    agents = [CodeAgent(model=TestModel([py("meet()"), py(f"final_answer({i})")]), tools=[meet]) for i in range(4)]
    results = await asyncio.gather(*(a.arun("t") for a in agents))
    assert [r.output for r in results] == [0, 1, 2, 3]
    assert not barrier.broken and all(r.steps[0].error is None for r in results)  # the code ran at once, in threads


async def test_cancelling_a_run_interrupts_its_code():
    agent = CodeAgent(model=TestModel([py("import time\ntime.sleep(30)")]))
    task = asyncio.ensure_future(agent.arun("t"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert agent.last_result.status == "interrupted"


def _interrupt_when_running():
    """A tool the code calls first, and a SIGINT to the main thread (as a kernel interrupt sends)
    once it has: the interrupt lands in the code, however slow the machine is."""
    import signal
    import threading

    from smolnb import tool

    main = threading.main_thread().ident

    @tool
    def started() -> str:
        """Say that the code runs.

        Returns:
            'ok'.
        """
        threading.Timer(0.2, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
        return "ok"

    return started


@pytest.fixture
def sigint_raises():
    """Python's SIGINT handler, as a kernel has it: a shell that starts the suite in the background
    sets SIGINT to 'ignore', and Python keeps that, so the interrupt would never arrive."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _explain(result):
    return f"{result.status}: {result.error}; steps: {[(s.step, s.error_kind, s.error) for s in result.steps]}"


def test_interrupt_in_a_plain_script_ends_with_status_interrupted(sigint_raises):
    import time

    agent = CodeAgent(model=TestModel([py("started()\nimport time\ntime.sleep(30)")]), tools=[_interrupt_when_running()])
    start = time.monotonic()
    result = agent.run("t")
    assert result.status == "interrupted", _explain(result)
    assert time.monotonic() - start < 10


def test_interrupt_inside_a_running_loop_ends_with_status_interrupted(sigint_raises):
    import time

    async def main():
        model = TestModel([py("started()\nn = 0\nwhile True:\n    n += 1")])
        agent = CodeAgent(model=model, tools=[_interrupt_when_running()], code_timeout=60)
        start = time.monotonic()
        return agent.run("t"), time.monotonic() - start

    # Like a Jupyter kernel: a loop runs in the main thread and Ctrl-C raises KeyboardInterrupt
    # (asyncio.run would instead turn the first Ctrl-C into a cancellation of `main`).
    loop = asyncio.new_event_loop()
    try:
        result, elapsed = loop.run_until_complete(main())
    finally:
        loop.close()
    assert result.status == "interrupted" and elapsed < 10, _explain(result)


def test_an_undefined_name_gets_a_hint_that_fits_how_it_was_used():
    model = TestModel(
        [
            py("final_answer(sum(1 for i in range(10) if is_prime(i)))"),
            py("print(primes)"),
            py("import math\nfinal_answer(sqrt(16))"),
            py("final_answer(1)"),
        ]
    )
    result = CodeAgent(model=model, max_steps=4).run("t")
    called, data, imported = (s.observation for s in result.steps[:3])
    assert "`def is_prime(...):`" in called and "Write the data" not in called
    assert "`primes = ...`" in data
    assert "from math import sqrt" in imported


def test_a_block_that_only_defines_is_told_what_it_defined_and_that_nothing_ran_it():
    # A small model wrote the function, saw "printed nothing", and answered the system prompt's
    # example (385) instead: the observation now names what exists and what to do next.
    model = TestModel(
        [py("import math\n\ndef biggest(l: list) -> int:\n    return max(l)\n\nLIMIT = 3"), py("final_answer(biggest)")]
    )
    result = CodeAgent(model=model).run("Write biggest.")
    observation = result.steps[0].observation
    assert "defined biggest(l: list), LIMIT" in observation and "nothing called" in observation
    assert "biggest(l: list) -> int" not in observation.replace("defined biggest(l: list)", "")
    plain = CodeAgent(model=TestModel([py("x = 1"), py("final_answer(x)")])).run("Set x.")
    assert "defined x" in plain.steps[0].observation
    called = CodeAgent(model=TestModel([py("def f():\n    return 1\nf()"), py("final_answer(f())")])).run("Call f.")
    assert "nothing called" not in called.steps[0].observation


def test_a_block_whose_asserts_passed_says_so():
    model = TestModel([py("def inc(x):\n    return x + 1\nassert inc(1) == 2\nassert inc(2) == 3"), py("final_answer(inc)")])
    result = CodeAgent(model=model).run("Write inc.")
    assert "2 asserts passed" in result.steps[0].observation


def test_a_run_stuck_on_an_error_it_has_seen_samples_to_get_out():
    # At temperature 0 a small model rewrote the same wrong function after each failed assert;
    # the call after an error the run has already seen samples (0.7), the first one does not.
    fails = "def f(n):\n    return n\nassert f(15) == 5, 'case 1'"
    model = TestModel([py(fails), py("x = 1"), py(fails.replace("return n", "return n + 0")), py("final_answer(x)")])
    result = CodeAgent(model=model, max_steps=6).run("Write f.")
    assert result.output == 1
    temperatures = [call.get("temperature") for call in model.calls]
    assert temperatures[:3] == [None, None, None] and temperatures[3] == 0.7
    again = TestModel([py("1/0"), py("1/0"), py("final_answer(2)")])
    CodeAgent(model=again, max_steps=6).run("t")
    assert again.calls[2].get("temperature") == 0.7  # the same code and error, as before


def test_a_failed_attempt_leaves_the_conversation_once_the_next_one_is_written():
    # A small model copied its own failed code back, step after step (6 steps, 10,000 tokens):
    # the model sees its last attempt in full; older failures as one line each.
    first = "def f(n):\n    return n * 2  # first try\nassert f(2) == 5, 'first'"
    second = "def f(n):\n    return n + 2  # second try\nassert f(2) == 5, 'second'"
    model = TestModel([py(first), py(second), py("final_answer(3)")])
    result = CodeAgent(model=model, max_steps=5).run("Write f.")
    assert result.output == 3
    seen = "\n".join(m["content"] for m in model.calls[1]["messages"])
    assert "# first try" in seen  # the attempt to fix is shown in full
    seen = "\n".join(m["content"] for m in model.calls[2]["messages"])
    assert "# first try" not in seen and "AssertionError: first" in seen  # an older failure: its error only
    assert "# second try" in seen


def test_a_run_in_a_rut_writes_its_next_attempt_afresh():
    fails = "def f(n):\n    return n  # try\nassert f(15) == 5, 'case 1'"
    model = TestModel([py(fails), py(fails), py("final_answer(1)")])
    result = CodeAgent(model=model, max_steps=5).run("Write f.")
    assert result.output == 1
    seen = "\n".join(m["content"] for m in model.calls[2]["messages"])
    assert "# try" not in seen and "AssertionError: case 1" in seen and "different" in seen
    assert model.calls[2].get("temperature") == 0.7


def test_code_sent_again_that_ran_without_error_is_a_rut_too():
    # The 0.5B defined the same function six times in a row and never called it.
    define = "def fly(q, w):\n    return sum(q) <= w"
    model = TestModel([py(define), py(define), py("print(fly([1, 2], 5))"), py("final_answer(fly)")])
    result = CodeAgent(model=model, max_steps=6).run("Write fly.")
    assert result.status == "success"
    seen = "\n".join(m["content"] for m in model.calls[2]["messages"])
    assert seen.count("return sum(q) <= w") == 1 and "same code as step 1" in seen
    assert model.calls[2].get("temperature") == 0.7 and model.calls[1].get("temperature") is None


def test_the_worked_examples_are_turns_of_the_conversation_before_the_task():
    # In the system prompt the 0.5B answered 4 of 35 basics tasks in prose, with no code.
    from smolnb.agent import prompts

    model = TestModel([py("final_answer(1)")])
    CodeAgent(model=model).run("What is 1?")
    messages = model.calls[0]["messages"]
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * len(prompts.CODE_EXAMPLES), "user"]
    assert "Example" not in messages[0]["content"]
    assert all("```python" in m["content"] and "final_answer(" in m["content"] for m in messages if m["role"] == "assistant")
    assert messages[-1]["content"] == "Task: What is 1?"
    own = TestModel([py("final_answer(1)")])
    CodeAgent(model=own, system_prompt="Answer in code.").run("What is 1?")
    assert [m["role"] for m in own.calls[0]["messages"]] == ["system", "user"]  # the caller's prompt: their examples


def test_a_block_of_only_comments_is_a_reply_without_code():
    # The 0.5B copied a stand-in comment of the conversation as its whole code block, twice.
    model = TestModel([py("# step 1's code failed; it is not shown again"), py("final_answer(2)")])
    result = CodeAgent(model=model, max_steps=3).run("t")
    assert result.steps[0].error_kind == "format" and result.format_errors == 1
    assert "only comments" in result.steps[0].observation and result.output == 2


def test_what_stands_for_a_failed_or_repeated_attempt_is_not_code_to_copy():
    first = "def f(n):\n    return n * 2\nassert f(2) == 5, 'first'"
    define = "def g():\n    return 1"
    model = TestModel([py(first), py(first.replace("* 2", "+ 9")), py(define), py(define), py("final_answer(3)")])
    result = CodeAgent(model=model, max_steps=6).run("Write f.")
    assert result.output == 3
    ran = {s.code for s in result.steps}
    for call in model.calls:
        for message in run_messages(call["messages"]):
            if message["role"] == "assistant" and "```" in message["content"]:
                assert message["content"].split("```python\n")[1].split("\n```")[0] in ran  # the model's own code


def test_the_placeholder_is_not_an_answer():
    # Shown `final_answer(...)`, a small model answered Ellipsis.
    model = TestModel([py("final_answer(...)"), py("final_answer(4)")])
    result = CodeAgent(model=model, max_steps=3).run("t")
    assert "placeholder" in result.steps[0].observation and result.output == 4
    forced = CodeAgent(model=TestModel([py("x = 1"), py("final_answer(...)")]), max_steps=1).run("t")
    assert forced.status == "max_steps" and forced.output is None
