"""How an answer was reached: every run says whether its answer came from the work.

A run could end `success` with a constant the code never computed (a year for "which weekday");
`RunResult.confidence` tells a reader: "checked" (the run computed the value and saw it before
answering), "computed" (code computed it in the answering step), "stated" (a literal nothing
computed), "forced" (the step limit made the model answer), "none" (no answer).
"""

import pytest

from smolnb import CodeAgent
from smolnb.agent.confidence import how_reached
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from tests.helpers import py


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ([py("final_answer(1914)")], "stated"),  # a literal, nothing computed it
        ([py("final_answer(sum(range(5)))")], "computed"),  # computed in the answering step
        ([py("n = sum(range(5))\nprint(n)"), py("final_answer(n)")], "checked"),  # computed, seen, answered
        ([py("print(len('banana'))"), py("final_answer(6)")], "checked"),  # the literal is what the code printed
        ([py("print(len('banana'))"), py("final_answer(7)")], "stated"),  # a literal the work never showed
        ([py("x = 3"), py("final_answer(x * 2)")], "computed"),
        ([py("print('Monday')"), py("final_answer('Monday')")], "checked"),
        ([py("print(16)"), py("final_answer(1)")], "stated"),  # "1" inside "16" is not the value seen
        # A constant passed through names is still a constant (a run answered 96033 for 347 * 29 + 1158)
        ([py("answer = 96033\nfinal_answer(answer)")], "stated"),
        ([py("a = 'Monday'"), py("b = a\nfinal_answer(b)")], "stated"),
        ([py("x, y = 3, 4"), py("final_answer(x)")], "stated"),
        ([py("answer = 7\nanswer = answer * 6\nfinal_answer(answer)")], "computed"),  # the last binding counts
        ([py("n = 2\nfor i in range(3):\n    n = n + i\nfinal_answer(n)")], "computed"),  # rebound in a loop
        ([py("def f():\n    return 5\nfinal_answer(f())")], "computed"),
        # An assert on the answer that passed before it was given is a check by executed code
        ([py("def f(x):\n    return x + 1\nassert f(1) == 2\nfinal_answer(f)")], "checked"),
        ([py("x = sum(range(5))\nassert x == 10, x\nfinal_answer(x)")], "checked"),
        ([py("def f(x):\n    return x + 1"), py("assert f(1) == 2"), py("final_answer(f)")], "checked"),
        ([py("assert 1 == 1\nfinal_answer(sum(range(3)))")], "computed"),  # the assert is not about the answer
        ([py("x = 5\nassert x == 5\nfinal_answer(x)")], "stated"),  # a constant checked against itself
        ([py("x = sum(range(5))\nfinal_answer(x)\nassert x == 10")], "computed"),  # never ran: after the answer
        # redefined after the check: the answer given is not what was checked
        ([py("def f():\n    return 1\nassert f() == 1"), py("def f():\n    return 2\nfinal_answer(f)")], "computed"),
        ([py("def f():\n    return 1"), py("assert f() == 2"), py("final_answer(f)")], "computed"),  # the check failed
        ([py("x = sum(range(5))\ndef g():\n    assert x == 10\nfinal_answer(x)")], "computed"),  # never called
    ],
)
def test_how_an_answer_was_reached(replies, expected):
    result = CodeAgent(model=TestModel(replies), max_steps=4, store=False).run("Answer with a value or a function.")
    assert result.status == "success"
    assert result.confidence == expected, [s.code for s in result.steps]


def test_an_answer_forced_by_the_step_limit_says_so(tmp_path):
    model = TestModel([py("x = 1"), "The answer is 41."])
    result = CodeAgent(model=model, max_steps=1, store=False).run("Answer.")
    assert result.status == "max_steps" and result.confidence == "forced"


def test_confidence_goes_through_the_store_the_trace_and_the_summary(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    result = CodeAgent(model=TestModel([py("final_answer(1914)")]), store=store).run("Which year?")
    [end] = [e for e in store.events(result.run_id) if e.type == "run_end"]
    assert end.confidence == "stated"
    assert "stated, not computed" in result.summary()
    from smolnb.widgets.render import TraceState, render_html, render_text

    state = TraceState(store.events(result.run_id))
    assert "stated, not computed" in render_text(state) and "stated, not computed" in render_html(state)


def test_how_reached_needs_no_agent():
    assert how_reached([], "error", None) == "none"
    assert how_reached([], "interrupted", None) == "none"


def test_a_constant_answer_is_challenged_once_then_the_computed_one_ends_the_run():
    model = TestModel(
        [
            py("final_answer(1914)"),
            py("import datetime\nprint(datetime.date(2024, 7, 1).strftime('%A'))"),
            py("final_answer('Monday')"),
        ]
    )
    result = CodeAgent(model=model, max_steps=5, store=False, challenge=True).run("Which weekday was 1 July 2024?")
    assert result.output == "Monday" and result.confidence == "checked"
    first = result.steps[0]
    assert first.challenged and not first.is_final and "You answered 1914, a constant" in first.observation
    assert "nothing the code ran computed" in model.calls[1]["messages"][-1]["content"]
    from smolnb.widgets.render import TraceState, render_html, render_text

    state = TraceState(result.events)
    assert "answer sent back" in render_html(state) and "answer sent back" in render_text(state)


def test_a_challenged_answer_given_again_is_accepted_and_says_stated():
    model = TestModel([py("final_answer(42)"), py("final_answer(42)")])
    result = CodeAgent(model=model, max_steps=5, store=False, challenge=True).run("What is the answer?")
    assert result.status == "success" and result.output == 42 and result.confidence == "stated"
    assert len(model.calls) == 2  # challenged once, never twice


def test_a_computed_answer_is_not_challenged():
    model = TestModel([py("final_answer(sum(range(10)))")])
    result = CodeAgent(model=model, store=False, challenge=True).run("Sum 0..9.")
    assert result.output == 45 and len(model.calls) == 1 and not result.steps[0].challenged


def test_no_challenge_on_the_last_step():
    model = TestModel([py("x = 1"), py("final_answer(7)")])
    result = CodeAgent(model=model, max_steps=2, store=False, challenge=True).run("t")
    assert result.status == "success" and result.output == 7 and result.confidence == "stated"


@pytest.mark.parametrize(
    ("task", "code", "wanted"),
    [
        ("How many vowels are in 'banana'?", "final_answer('a' in 'banana')", "a number"),
        ("How many days are in February 2024?", "final_answer('twenty-nine')", "a number"),
        ("What day of the week was 2000-01-01?", "import datetime\nfinal_answer(datetime.date(2000, 1, 1).year)", "a name"),
        ("Who has the most years? Answer with the name.", "final_answer(max([3, 9]))", "a name"),
        ("What is 347 * 29 + 1158?", "final_answer(347 * 29 > 1158)", "not a yes/no"),
    ],
)
def test_an_answer_whose_type_does_not_fit_the_question_is_challenged_once(task, code, wanted):
    model = TestModel([py(code), py("final_answer(3)")])
    result = CodeAgent(model=model, max_steps=5, store=False, challenge=True).run(task)
    first = result.steps[0]
    assert first.challenged and not first.is_final, first.observation
    assert wanted in first.observation
    assert len(model.calls) == 2 and result.output == 3


@pytest.mark.parametrize(
    ("task", "code"),
    [
        ("How many vowels are in 'banana'?", "final_answer(sum(c in 'aeiou' for c in 'banana'))"),
        ("How much is 2 ** 10?", "final_answer(str(2 ** 10))"),  # a number written as text
        ("Is 7 a prime number?", "final_answer(all(7 % d for d in range(2, 7)))"),
        ("Does 'level' read the same backwards?", "final_answer('level' == 'level'[::-1])"),
        ("What day of the week was 2000-01-01?", "import datetime\nfinal_answer(datetime.date(2000, 1, 1).strftime('%A'))"),
        ("What is 6 * 7?", "final_answer(6 * 7)"),
    ],
)
def test_an_answer_that_fits_the_question_is_not_challenged(task, code):
    model = TestModel([py(code)])
    result = CodeAgent(model=model, max_steps=5, store=False, challenge=True).run(task)
    assert result.status == "success" and not result.steps[0].challenged and len(model.calls) == 1


def test_a_function_given_as_the_answer_to_a_question_for_a_value_goes_back():
    # Shown a worked example that answers with a function, the 0.5B answered "What is the 20th
    # Fibonacci number?" with its function `fibonacci` itself (4 of 35 basics tasks).
    define = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfinal_answer(fib)"
    model = TestModel([py(define), py("final_answer(fib(20))")])
    result = CodeAgent(model=model, max_steps=3, store=False).run("What is the 20th Fibonacci number?")
    assert result.steps[0].challenged and "the function fib itself" in result.steps[0].observation
    assert result.output == 6765 and len(result.steps) == 2
    again = TestModel([py(define), py("final_answer(fib)"), py("final_answer(fib)")])
    result = CodeAgent(model=again, max_steps=3, store=False).run("What is the 20th Fibonacci number?")
    assert result.status == "success" and len(result.steps) == 3  # each time while a step is left
    assert [s.challenged for s in result.steps] == [True, True, False]


@pytest.mark.parametrize(
    "task",
    ["Write a function fib(n).", "Complete this:\n```python\ndef fib(n):\n    ...\n```", "Give me a callable for it."],
)
def test_a_function_answers_a_task_that_asks_for_one(task):
    define = "def fib(n):\n    return n\nfinal_answer(fib)"
    result = CodeAgent(model=TestModel([py(define)]), max_steps=3, store=False).run(task)
    assert result.status == "success" and not result.steps[0].challenged


def test_an_answer_whose_type_cannot_answer_the_question_goes_back_once_by_default():
    # The quickstart's "Which city ...? Answer with the city name." got the population, 10092, as a success.
    model = TestModel([py("m = max([522, 10092])\nfinal_answer(m)"), py("final_answer('Lima')")])
    task = "Which city has the largest population? Answer with the city name."
    result = CodeAgent(model=model, max_steps=3, store=False).run(task)
    assert result.steps[0].challenged and "asks for a name (text)" in result.steps[0].observation
    assert result.output == "Lima"
    twice = TestModel([py("final_answer(sum([1, 2]))"), py("final_answer(sum([1, 3]))")])
    result = CodeAgent(model=twice, max_steps=3, store=False).run(task)
    assert result.output == 4 and [s.challenged for s in result.steps] == [True, False]  # once a run


def test_a_function_answering_a_task_that_asks_for_one_is_no_misfit_whatever_its_docstring_asks():
    task = 'Complete the function.\n```python\ndef how_many(s: str) -> int:\n    """Find how many times a occurs."""\n```'
    code = "def how_many(s: str) -> int:\n    return s.count('a')\nfinal_answer(how_many)"
    result = CodeAgent(model=TestModel([py(code)]), max_steps=3, store=False).run(task)
    assert result.status == "success" and not result.steps[0].challenged and len(result.steps) == 1
