"""A function's own examples are run when the code defines it, and an answer whose examples fail goes back.

A small model asked to check its function with asserts copies the docstring's examples wrongly,
then "fixes" a right function into a wrong one, or never answers (45 of 80 HumanEval runs ended
at the step limit). The loop now runs the examples itself, exactly as written.
"""

import pytest

from smolnb import CodeAgent
from smolnb.agent.examples import Example, examples_for
from smolnb.models import TestModel
from tests.helpers import py

WRONG = '''def double(n):
    """Twice n.
    >>> double(2)
    4
    >>> double(5)
    10
    """
    return n + 2
'''
RIGHT = WRONG.replace("return n + 2", "return n * 2")


@pytest.mark.parametrize(
    ("line", "call", "want"),
    [
        ("f([1, 2], 3) == 5", "f([1, 2], 3)", "5"),
        ('f("ab") => "ba"', "f('ab')", '"ba"'),
        ("f(1) ➞ True", "f(1)", "True"),
        ("f(4) ==> (1, 2)", "f(4)", "(1, 2)"),
        ("for f(7, 34, 12) == 34", "f(7, 34, 12)", "34"),
        ('f(15)   # returns "db1111db"', "f(15)", '"db1111db"'),
        ("f('x.txt') # => 'Yes'", "f('x.txt')", "'Yes'"),
        ("f('1.dll') # => 'No' (the name should start with a letter)", "f('1.dll')", "'No'"),
        ("f('hi') returns 'lm'", "f('hi')", "'lm'"),
        ("f(12, 15) = 14", "f(12, 15)", "14"),
    ],
)
def test_the_forms_people_write_examples_in(line, call, want):
    code = f'def f(*a):\n    """Doc.\n    {line}\n    """\n'
    assert examples_for(code) == {"f": [Example(call, want)]}


@pytest.mark.parametrize(
    "line",
    [
        "f(a) => False",  # not a literal argument
        "f(2) = 1 + (2 / 2) = 2",  # a derivation, not a result
        "g(1) == 2",  # another function
        "f(1) is called first",  # no result
    ],
)
def test_what_is_not_an_example(line):
    assert examples_for(f'def f(*a):\n    """{line}"""\n') == {}


def test_a_docstring_that_mixes_a_recurrence_with_results_gives_no_examples():
    doc = "tri(1) = 3\n    tri(2) = 2\n    Examples: tri(3) = [1, 3, 2, 8]"
    assert examples_for(f'def tri(n):\n    """{doc}"""\n') == {}


def test_an_answer_whose_examples_fail_goes_back_with_what_each_returned():
    model = TestModel([py(WRONG + "final_answer(double)"), py(RIGHT + "final_answer(double)")])
    result = CodeAgent(model=model, max_steps=4, store=False).run("Write double.")
    first = result.steps[0]
    assert not first.is_final and first.error_kind == "check"
    assert "double(2) returned 4, expected 4" not in first.observation  # 2 + 2 is right by chance
    assert "double(5) returned 7, expected 10" in first.observation
    assert "not accepted" in first.observation
    assert result.status == "success" and len(result.steps) == 2
    assert "The examples given for double pass (2 examples)." in result.steps[1].observation
    assert result.confidence == "checked"


def test_examples_come_from_the_task_when_the_code_drops_the_docstring():
    task = f"Complete the function.\n```python\n{WRONG.split('    return')[0]}```"
    model = TestModel([py("def double(n):\n    return n + 2\nfinal_answer(double)"), py(RIGHT + "final_answer(double)")])
    result = CodeAgent(model=model, max_steps=4, store=False).run(task)
    assert "double(5) returned 7, expected 10" in result.steps[0].observation
    assert result.status == "success" and result.confidence == "checked"


def test_at_the_step_limit_the_answer_stands_but_is_not_checked():
    result = CodeAgent(model=TestModel([py(WRONG + "final_answer(double)")]), max_steps=1, store=False).run("Write double.")
    assert result.status == "success" and result.steps[0].is_final
    assert "double(5) returned 7, expected 10" in result.steps[0].observation
    assert result.confidence == "computed"


def test_a_block_that_only_defines_the_function_is_told_how_its_examples_went():
    model = TestModel([py(RIGHT), py("final_answer(double)")])
    result = CodeAgent(model=model, max_steps=3, store=False).run("Write double.")
    observation = result.steps[0].observation
    assert observation.startswith("The code ran and defined double(n).\nThe examples given for double pass (2 examples).")
    assert "nothing called" not in observation  # the examples called it
    assert result.confidence == "checked"


def test_an_example_that_raises_says_what_it_raised_and_the_checks_leave_no_variables():
    code = 'def inv(x):\n    """>>> inv(0)\n    0\n    """\n    return 1 / x\n'
    namespace: dict = {}
    agent = CodeAgent(model=TestModel([py(code), py("final_answer(1)")]), namespace=namespace, store=False)
    result = agent.run("t", max_steps=3)
    assert "- inv(0) raised ZeroDivisionError('division by zero'), expected 0" in result.steps[0].observation
    assert sorted(k for k in namespace if not k.startswith("__")) == ["inv"]


def test_examples_that_never_finish_are_a_failure_that_says_so():
    code = 'def spin(n):\n    """>>> spin(1)\n    1\n    """\n    while True:\n        pass\n'
    model = TestModel([py(code + "final_answer(spin)"), py("final_answer(2)")])
    result = CodeAgent(model=model, max_steps=3, code_timeout=1, store=False).run("Write spin.")
    first = result.steps[0]
    assert first.error_kind == "check" and not first.is_final
    assert "The examples given for spin did not finish" in first.observation
    assert result.output == 2
