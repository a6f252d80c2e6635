"""How a run's answer was reached, so a reader can tell an answer that came from the work.

The rule, for any model and any task:

- **checked**: the answer's value was computed by code that ran and shown to the model in an
  observation before it answered (it printed the value, then answered with it, or with the
  variable that holds it);
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
import re
from typing import Any, Literal

from ..events import Step

__all__ = ["Confidence", "LABELS", "how_reached", "is_stated"]

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
    literal, seen = _evidence([s for s in steps if s is not final], final.code if final is not None else None, output)
    if seen:
        return "checked"
    return "stated" if literal else "computed"


def is_stated(earlier: list[Step], code: str, value: Any) -> bool:
    """Whether answering `value` with `code` (after the steps `earlier`) would be "stated"."""
    literal, seen = _evidence(earlier, code, value)
    return literal and not seen


def _evidence(earlier: list[Step], code: str | None, value: Any) -> tuple[bool, bool]:
    """(the answer is a literal, or given without code; an earlier step's output showed its value)."""
    argument = _answer_argument(code) if code else None
    if argument is None:
        literal = True
    else:
        blocks = [s.code for s in earlier if s.kind == "action" and s.code] + [code or ""]
        literal = _constant(argument, _bindings(blocks), set())
    return literal, _shown(value, [_output(s) for s in earlier if s.kind == "action"])


_COMPUTED = ast.Constant(value=...)  # stands for a binding no literal gives (a loop variable, an import, a def)


def _bindings(blocks: list[str]) -> dict[str, list[ast.expr]]:
    """Every value each name is bound to in the run's code, outside function and class bodies."""
    found: dict[str, list[ast.expr]] = {}

    def bind(target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            found.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts) else None
            for i, element in enumerate(target.elts):
                bind(element, values[i] if values is not None else _COMPUTED)
        elif isinstance(target, ast.Starred):
            bind(target.value, _COMPUTED)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            bind(node.target, node.value)
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.NamedExpr):
            bind(node.target, _COMPUTED)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bind(node.optional_vars, _COMPUTED)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.setdefault(node.name, []).append(_COMPUTED)
            return  # its body's names are its own
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                found.setdefault((alias.asname or alias.name).split(".")[0], []).append(_COMPUTED)
        elif isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for block in blocks:
        try:
            visit(ast.parse(block))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # code that does not parse (or nests past the parser's depth) binds nothing here
    return found


def _constant(node: ast.expr, bindings: dict[str, list[ast.expr]], seen: set[str]) -> bool:
    """Whether `node` is a literal, or a name only ever bound to literals (through other names)."""
    if isinstance(node, ast.Name):
        values = bindings.get(node.id)
        if not values or node.id in seen:
            return False  # not bound by the run's code (given data, a builtin), or bound through itself
        return all(value is not _COMPUTED and _constant(value, bindings, seen | {node.id}) for value in values)
    return _is_literal(node)


def _output(step: Step) -> str:
    """What a step's executed code showed (a challenged answer's message quotes the answer: not that)."""
    return step.stdout if step.challenged else (step.observation or step.stdout)


def _answer_argument(code: str) -> ast.expr | None:
    """The expression given to the last `final_answer(...)` call of a code block."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "final_answer" and node.args
    ]
    return calls[-1].args[0] if calls else None


def _is_literal(node: ast.expr) -> bool:
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
