"""A function's own examples, run when the code defines it: the check a small model fails to write.

The rule, for any task: when a code block defines a function, the examples given for it are
run right after the block, in the same session, and the observation says which passed and what
each failed one returned. An example is a call of the function with literal arguments and the
literal it should give, written in its docstring (in the code, or in a definition of the same
name the task shows) in one of the forms people write:

    >>> f([1, 2], 3)          f([1, 2], 3) == 5          f("ab") => "ba"
    5                         f(1) ➞ True                 f(1) returns 2

An answer given while its function's examples fail is sent back (with a step left); one whose
examples passed counts as checked (`smolnb.agent.confidence`).
"""

from __future__ import annotations

import ast
import doctest
import math
import re
from dataclasses import dataclass
from typing import Any

from .._sync import alone_on_loop, run_in_thread
from ..executor import Executor
from . import prompts
from .confidence import is_literal, parse

__all__ = ["Checked", "Example", "Outcome", "check_code", "examples_for", "judge", "report", "run_examples"]

MARK = "\x1fsmolnb-examples "
_ARROW = re.compile(r"\s*(?:#\s*)?(?:==>|=>|==|➞|->|→|=|\bshould return\b|\breturns?\b|\bgives\b)\s*")
_MAX_EXAMPLES = 12


@dataclass(frozen=True)
class Example:
    call: str  # `f([1, 2], 3)`, arguments as literals
    want: str  # the expected value as written (`5`, `'ba'`)


@dataclass(frozen=True)
class Outcome:
    example: Example
    passed: bool
    got: str  # the repr it returned, or the exception it raised
    raised: bool = False


def examples_for(code: str, task: str = "") -> dict[str, list[Example]]:
    """The examples of each function the code defines at its top level, from its docstring or the task's."""
    tree = parse(code)
    if tree is None:
        return {}
    task_docs = _docstrings(parse(_task_code(task)))
    found: dict[str, list[Example]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        texts = [ast.get_docstring(node) or "", task_docs.get(node.name, "")]
        unique: dict[str, Example] = {}
        for text in texts:
            for example in _parse_examples(text, node.name):
                unique.setdefault(example.call, example)
        if unique:
            found[node.name] = list(unique.values())[:_MAX_EXAMPLES]
    return found


@dataclass(frozen=True)
class Checked:
    """What running a block's examples gave."""

    note: str = ""  # what the observation says of them
    error: str | None = None  # the step's error, when one failed
    passed: tuple[str, ...] = ()  # the functions whose examples all passed
    examined: tuple[str, ...] = ()  # the functions whose examples ran


async def run_examples(executor: Executor, code: str, task: str) -> Checked:
    """Run the examples of the functions `code` defined, in `executor`'s session (nothing when none is given)."""
    given = examples_for(code, task)
    if not given:
        return Checked()
    check = check_code(given)
    executor.on_output = None  # the check's own prints are not the step's output
    ran = executor.run(check) if alone_on_loop() else await run_in_thread(lambda: executor.run(check))
    outcomes = judge(given, ran.stdout)
    if outcomes is None and ran.error:  # past the time limit, or out of memory: no example may finish
        last = [line for line in ran.error.strip().splitlines() if line.strip()][-1:] or [str(ran.error_kind)]
        names = ", ".join(given)
        note = prompts.EXAMPLES_UNFINISHED.format(names=names, error=last[0].strip())
        return Checked(note, f"ExampleFailed: the examples of {names} did not finish: {last[0].strip()}", (), tuple(given))
    if outcomes is None:
        return Checked()
    note, error, passed = report(outcomes)
    return Checked(note, error, tuple(passed), tuple(outcomes))


def check_code(examples: dict[str, list[Example]]) -> str:
    """Code that runs every example and prints what each gave, on one marked line."""
    lines = ["_smolnb_examples = []"]
    for function in examples.values():
        for example in function:
            lines += [
                "try:",
                f"    _smolnb_examples.append(('ok', repr({example.call})[:2000]))",
                "except Exception as _smolnb_error:",
                "    _smolnb_examples.append(('raised', repr(_smolnb_error)[:300]))",
            ]
    lines += [f"print({MARK!r} + repr(_smolnb_examples))", "del _smolnb_examples"]
    return "\n".join(lines)


def judge(examples: dict[str, list[Example]], stdout: str) -> dict[str, list[Outcome]] | None:
    """Each example's outcome, read from what `check_code` printed; None if it printed nothing readable."""
    at = stdout.rfind(MARK)
    if at < 0:
        return None
    try:
        results = ast.literal_eval(stdout[at + len(MARK) :].splitlines()[0])
    except (ValueError, SyntaxError, IndexError, MemoryError, RecursionError):
        return None
    ordered = [(name, e) for name, function in examples.items() for e in function]
    if not isinstance(results, list) or len(results) != len(ordered):
        return None
    outcomes: dict[str, list[Outcome]] = {}
    for (name, example), (status, text) in zip(ordered, results, strict=True):
        passed = status == "ok" and _same(text, example.want)
        outcomes.setdefault(name, []).append(Outcome(example, passed, text, raised=status != "ok"))
    return outcomes


# -- finding examples ------------------------------------------------------------------------


def _task_code(task: str) -> str:
    """The Python the task shows: its fenced blocks, or the whole text when it is code itself."""
    blocks = re.findall(r"```(?:python|py)?\s*\n(.*?)```", task, re.S)
    return "\n".join(blocks)


def _docstrings(tree: ast.Module | None) -> dict[str, str]:
    if tree is None:
        return {}
    return {n.name: ast.get_docstring(n) or "" for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _parse_examples(text: str, name: str) -> list[Example]:
    found = []
    try:
        doctests = doctest.DocTestParser().get_examples(text)
    except ValueError:  # inconsistent indentation in a docstring
        doctests = []
    for example in doctests:
        call = _literal_call(example.source.strip(), name)
        want = example.want.strip()
        if call is not None and want and _literal(want)[0]:
            found.append(Example(call, want))
    inline = [e for line in text.splitlines() if not line.lstrip().startswith(">>>") for e in _inline_examples(line, name)]
    if len({_kind(e.want) for e in inline}) > 1:
        inline = []  # a docstring that mixes a recurrence (`f(1) = 3`) with results (`f(3) = [1, 3, 2, 8]`)
    return found + inline


def _kind(want: str) -> str:
    value = _literal(want)[1]
    return "collection" if isinstance(value, list | tuple | dict | set) else "scalar"


def _inline_examples(line: str, name: str) -> list[Example]:
    """`f(1, 2) == 3`-like examples on one line of text (several may share it)."""
    found = []
    for match in re.finditer(rf"(?<![\w.]){re.escape(name)}\s*\(", line):
        start = match.start()
        for end in range(match.end(), len(line)):
            if line[end] != ")":
                continue
            call = _literal_call(line[start : end + 1], name)
            if call is None:
                continue
            arrow = _ARROW.match(line, end + 1)
            if arrow is None:
                break
            want = _leading_literal(line[arrow.end() :])
            if want is not None:
                found.append(Example(call, want))
            break
    return found


def _literal_call(source: str, name: str) -> str | None:
    """`source` as a call of `name` whose arguments are all literals, normalised; else None."""
    try:
        node = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name):
        return None
    arguments = [*node.args, *(k.value for k in node.keywords)]
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return None
    if not all(is_literal(a) for a in arguments):
        return None
    return ast.unparse(node)


def _leading_literal(text: str) -> str | None:
    """The longest start of `text` that is a Python literal (`'No' (the name...)` gives `'No'`).

    None when the literal goes on as arithmetic (`1 + (2 / 2) = 2` is a derivation, not a result).
    """
    text = text.strip().rstrip(".,;")
    cuts = sorted({len(text), *(m.start() for m in re.finditer(r"[\s,;]", text))}, reverse=True)
    for cut in cuts[:40]:
        candidate = text[:cut].strip().rstrip(".,;")
        if candidate and _literal(candidate)[0]:
            return None if re.match(r"\s*[-+*/%<>=&|^]", text[cut:]) else candidate
    return None


def _literal(text: str) -> tuple[bool, Any]:
    """(whether `text` is a Python literal, its value)."""
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


# -- comparing -------------------------------------------------------------------------------


def _same(got: str, want: str) -> bool:
    """Whether the returned repr is the expected literal: `==` as Python has it, floats within 1e-6."""
    (is_expected, expected), (is_value, value) = _literal(want), _literal(got)
    if not (is_expected and is_value):
        return " ".join(got.split()) == " ".join(want.split())
    return _equal(value, expected)


def _equal(a: Any, b: Any) -> bool:
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    if numbers and (isinstance(a, float) or isinstance(b, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, list | tuple) and type(a) is type(b):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def report(outcomes: dict[str, list[Outcome]]) -> tuple[str, str | None, list[str]]:
    """(what the observation says, the step's error when an example failed, the functions whose examples passed)."""
    notes, errors, passed = [], [], []
    for name, results in outcomes.items():
        failed = [o for o in results if not o.passed]
        if not failed:
            passed.append(name)
            notes.append(prompts.EXAMPLES_PASSED.format(name=name, count=_count(len(results))))
            continue
        lines = [
            (prompts.EXAMPLE_RAISED if o.raised else prompts.EXAMPLE_FAILED).format(
                call=o.example.call, got=o.got[:200], want=o.example.want
            )
            for o in failed
        ]
        notes.append(prompts.EXAMPLES_FAILED.format(name=name, failed=len(failed), count=len(results), lines="\n".join(lines)))
        errors.append(f"ExampleFailed: {lines[0][2:]}")
    return "\n".join(notes), ("\n".join(errors) or None), passed


def _count(n: int) -> str:
    return f"{n} example{'' if n == 1 else 's'}"
