"""How a run's answer was reached, so a reader can tell an answer that came from the work.

The rule, for any model and any task:

- **checked**: the answer was computed by code that ran, and checked before it was given:
  its value was shown to the model in an observation (it printed the value, then answered
  with it, or with the variable that holds it), or an `assert` about it passed (after the
  answer's last definition, in code that ran: `assert f(1) == 2` then `final_answer(f)`), or
  it is a function whose given examples passed when it was last defined (`smolnb.agent.examples`);
- **computed**: the answer is an expression the answering step's code evaluated, but the model
  never saw its value before answering;
- **stated**: the answer is a literal that no earlier output of the run showed (the model wrote
  down a constant: the case where runs said `success` with a year for "which weekday");
- **forced**: the step limit ran out and the model was made to answer without running code;
- **none**: no answer (the run failed or was interrupted).

A value is "shown" when its text appears in an earlier step's output as a whole token (`1` is
not seen inside `16`).
"""

from __future__ import annotations

import ast
import numbers
import re
from collections.abc import Iterable
from typing import Any, Literal

from ..events import Step

__all__ = ["Confidence", "LABELS", "asserts_in", "function_misfit", "how_reached", "is_literal", "is_stated", "misfit", "parse"]

Confidence = Literal["checked", "computed", "stated", "forced", "none"]

LABELS = {
    "checked": "computed and checked",
    "computed": "computed",
    "stated": "stated, not computed",
    "forced": "forced at the step limit",
    "none": "no answer",
}


def how_reached(steps: list[Step], status: str, output: Any) -> Confidence:
    """Which of the classes above the run's answer falls in."""
    if status == "max_steps":
        return "forced"
    if status != "success":
        return "none"
    final = next((s for s in reversed(steps) if s.is_final), None)
    earlier = [s for s in steps if s is not final]
    literal, checked = _evidence(earlier, final.code if final is not None else None, output, final.checked if final else ())
    if checked:
        return "checked"
    return "stated" if literal else "computed"


_YES_NO = re.compile(
    r"^\W*(is|are|was|were|do|does|did|can|could|has|have|had|should|will|would)\b|\b(true or false|yes or no)\b", re.I
)
_QUANTITY = re.compile(r"\bhow (many|much|old|long|far)\b|\b(number|count) of\b", re.I)
_NAME = re.compile(r"\bwho\b|\b(weekday|day of the week|month name)\b|\b(the|its|whose|with an?) (\w+ )?name\b", re.I)


_FUNCTION_ASKED = re.compile(r"\b(functions?|def|lambda|callable|class|methods?)\b", re.I)
_FUNCTION_REPR = re.compile(r"^<(function|bound method|built-in function|class) ([\w.]+)")


def function_misfit(task: str, value: Any, shown: str = "") -> str | None:
    """The function's name, when a function is the answer to a task that asks for none (for a value).

    A task asks for one when it says so ("function", "def", "class", ...) or names it (`Write fly.`).
    `shown`: the answer's repr where it was made (a sandbox sends a function back as text).
    """
    if _FUNCTION_ASKED.search(task):
        return None
    name = None
    if callable(value) and not isinstance(value, type):
        name = str(getattr(value, "__name__", "") or type(value).__name__)
    elif match := _FUNCTION_REPR.match(shown or (value if isinstance(value, str) else "")):
        name = match.group(2).rsplit(".", 1)[-1]
    if name is None or re.search(rf"(?<!\w){re.escape(name)}(?!\w)", task):
        return None
    return name


def misfit(task: str, value: Any) -> str | None:
    """What the question asks for, when the answer's type cannot be it; None when it fits.

    The rule reads the question's form, never its topic:
    - a bool (or None) answers only a yes/no question (one that opens with is/does/can/... or
      says "true or false", "yes or no");
    - a quantity question ("how many", "how much", "number of") takes a number (or text that is one);
    - a question for a name ("who", "which weekday", "answer with the name") takes text, not a number.
    """
    question = task.strip()
    if callable(value) or isinstance(value, str) and _FUNCTION_REPR.match(value):
        return None  # a function: `function_misfit` judges it (a docstring's "how many" asks nothing of it)
    if _QUANTITY.search(question) and not _is_number(value):
        return "a number"
    if _NAME.search(question) and _is_number(value) and not isinstance(value, str):
        return "a name (text)"
    if (value is None or isinstance(value, bool)) and not _YES_NO.search(question):
        return "an answer to the question (not a yes/no value)"
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            float(value.replace(",", "").strip())
        except ValueError:
            return False
        return True
    return isinstance(value, numbers.Number)  # numpy's scalars register as numbers too


def is_stated(earlier: list[Step], code: str, value: Any, checked_here: Iterable[str] = ()) -> bool:
    """Whether answering `value` with `code` (after the steps `earlier`) would be "stated"."""
    literal, checked = _evidence(earlier, code, value, checked_here)
    return literal and not checked


Position = tuple[int, int]  # (block, line) in the order the run's code ran


def _evidence(earlier: list[Step], code: str | None, value: Any, checked_here: Iterable[str] = ()) -> tuple[bool, bool]:
    """(the answer is a literal, or given without code; the work checked it before the answer).

    Checked: an earlier step's output showed its value, or an `assert` about it passed after
    its last binding and before the answer (in a block that ran without error, or in the
    answering block above its `final_answer`), or it is a function whose given examples passed
    when it was last defined (`smolnb.agent.examples`; `checked_here`: those of the answering block).
    """
    argument = _answer_argument(code) if code else None
    if argument is None:
        return True, _shown(value, [_output(s) for s in earlier if s.kind == "action"])
    actions = [s for s in earlier if s.kind == "action" and s.code]
    blocks = [s.code or "" for s in actions] + [code or ""]
    bindings = _bindings(blocks)
    if isinstance(argument, ast.Name) and _examples_passed(argument.id, actions, code or "", set(checked_here)):
        return False, True
    literal = _constant(argument, bindings, set())
    if _shown(value, [_output(s) for s in earlier if s.kind == "action"]):
        return literal, True
    if literal:
        return True, False  # a constant asserted against itself checks nothing
    answer_at = (len(actions), argument.lineno)
    ran = {i for i, s in enumerate(actions) if not s.error} | {len(actions)}
    names = {n.id for n in ast.walk(argument) if isinstance(n, ast.Name) and n.id in bindings}
    for at, tested in _asserts(blocks):
        if at[0] in ran and at < answer_at:
            for name in tested & names:
                if all(bound < at for bound, _ in bindings[name]):
                    return False, True
    return False, False


def _examples_passed(name: str, actions: list[Step], code: str, checked_here: set[str]) -> bool:
    """Whether the last block that defined function `name` had its given examples pass."""
    if _defines(code, name):
        return name in checked_here
    last = next((s for s in reversed(actions) if _defines(s.code or "", name)), None)
    return last is not None and name in last.checked


def _defines(code: str, name: str) -> bool:
    tree = parse(code)
    return tree is not None and any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


_COMPUTED = ast.Constant(value=...)  # stands for a binding no literal gives (a loop variable, an import, a def)


def parse(code: str) -> ast.Module | None:
    """The code's tree, or None when it does not parse (or nests past the parser's depth)."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def asserts_in(tree: ast.AST) -> list[ast.Assert]:
    """The `assert` statements the code runs itself: not those inside its functions or classes."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Assert):
            found.append(node)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _parsed(blocks: list[str]) -> list[tuple[int, ast.Module]]:
    return [(index, tree) for index, tree in enumerate(map(parse, blocks)) if tree is not None]


def _asserts(blocks: list[str]) -> list[tuple[Position, set[str]]]:
    """Each assert the blocks run (where it is, the names its test reads)."""
    return [
        ((index, node.lineno), {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)})
        for index, tree in _parsed(blocks)
        for node in asserts_in(tree)
    ]


def _bindings(blocks: list[str]) -> dict[str, list[tuple[Position, ast.expr]]]:
    """Every value each name is bound to in the run's code, and where, outside function and class bodies."""
    found: dict[str, list[tuple[Position, ast.expr]]] = {}

    def bind(target: ast.expr, value: ast.expr, at: Position) -> None:
        if isinstance(target, ast.Name):
            found.setdefault(target.id, []).append((at, value))
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts) else None
            for i, element in enumerate(target.elts):
                bind(element, values[i] if values is not None else _COMPUTED, at)
        elif isinstance(target, ast.Starred):
            bind(target.value, _COMPUTED, at)

    def visit(node: ast.AST, block: int) -> None:
        at = (block, getattr(node, "lineno", 0))
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value, at)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            bind(node.target, node.value, at)
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.NamedExpr):
            bind(node.target, _COMPUTED, at)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bind(node.optional_vars, _COMPUTED, (block, getattr(node.optional_vars, "lineno", 0)))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.setdefault(node.name, []).append((at, _COMPUTED))
            return  # its body's names are its own
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                found.setdefault((alias.asname or alias.name).split(".")[0], []).append((at, _COMPUTED))
        elif isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            return
        for child in ast.iter_child_nodes(node):
            visit(child, block)

    for block, tree in _parsed(blocks):
        try:
            visit(tree, block)
        except RecursionError:
            continue
    return found


def _constant(node: ast.expr, bindings: dict[str, list[tuple[Position, ast.expr]]], seen: set[str]) -> bool:
    """Whether `node` is a literal, or a name only ever bound to literals (through other names)."""
    if isinstance(node, ast.Name):
        values = bindings.get(node.id)
        if not values or node.id in seen:
            return False  # not bound by the run's code (given data, a builtin), or bound through itself
        return all(value is not _COMPUTED and _constant(value, bindings, seen | {node.id}) for _, value in values)
    return is_literal(node)


def _output(step: Step) -> str:
    """What a step's executed code showed (a challenged answer's message quotes the answer: not that)."""
    return step.stdout if step.challenged else (step.observation or step.stdout)


def _answer_argument(code: str) -> ast.expr | None:
    """The expression given to the last `final_answer(...)` call of a code block."""
    tree = parse(code)
    if tree is None:
        return None
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "final_answer" and node.args
    ]
    return calls[-1].args[0] if calls else None


def is_literal(node: ast.expr) -> bool:
    """Whether the expression is a Python literal (`3`, `'a'`, `[1, (2, None)]`)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _shown(value: Any, outputs: list[str]) -> bool:
    texts = {str(value), repr(value)}
    if isinstance(value, float) and value.is_integer():
        texts.add(str(int(value)))
    texts = {t for t in texts if t.strip()}
    if not texts:
        return False
    pattern = re.compile("|".join(rf"(?<![\w.]){re.escape(t)}(?![\w]|\.\d)" for t in sorted(texts, key=len, reverse=True)))
    return any(pattern.search(text) for text in outputs if text)
