"""What the model is shown of its own work: observations, the session's variables, past attempts.

Small models copy what they read, so each piece is short and says what to do next.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from collections.abc import Set as AbstractSet
from typing import Any

from ..events import Step
from ..executor.base import short_repr
from ..executor.policy import AGENT_MODULE
from . import prompts
from .confidence import asserts_in, parse

__all__ = [
    "as_reply",
    "asserts_run",
    "describe_variables",
    "error_line",
    "import_hint",
    "in_a_rut",
    "plural",
    "printed_nothing",
    "repeats",
]

_HIDDEN = {"In", "Out", "exit", "quit", "get_ipython", "open"}


def describe_variables(namespace: dict[str, Any], *, skip: set[str] = frozenset(), budget: int = 1500, task: str = "") -> str:  # type: ignore[assignment]
    """The user's variables the task needs, for the prompt, within `budget` characters.

    In full (name, type, shape or columns, a short repr): the names the task mentions, then data
    (DataFrames, arrays, lists, dicts), newest first. Other values (an unrelated `prime_count =
    168` would be taken for the answer) are listed by name only. Objects of the agent's own
    classes are described by their type: their `__repr__` is the agent's code.
    """
    mentioned = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", task))
    candidates = []
    for order, (name, value) in enumerate(list(namespace.items())):
        if name.startswith("_") or name in _HIDDEN or name in skip:
            continue
        if isinstance(value, types.ModuleType | types.FunctionType | type) or callable(value) and not hasattr(value, "shape"):
            continue
        is_data = hasattr(value, "shape") or isinstance(value, list | dict | tuple | set)
        rank = 0 if name in mentioned else 1 if is_data else 2
        candidates.append((rank, -order, name, value))
    candidates.sort(key=lambda c: (c[0], c[1]))
    lines, others, used = [], [], 0
    for rank, _, name, value in candidates:
        if rank == 2:
            others.append(name)
            continue
        line = f"- {name}: {_describe(value, name)}"
        if used + len(line) > budget:
            others.append(name)
            continue
        lines.append(line)
        used += len(line)
    if others:
        shown = ", ".join(sorted(others)[:30])
        lines.append(f"- also defined (print() one if the task needs it): {shown}{' ...' if len(others) > 30 else ''}")
    if not lines:
        return ""
    return "\n\nVariables already defined in the session (use them directly):\n" + "\n".join(lines)


def _describe(value: Any, name: str = "") -> str:
    kind = type(value).__name__
    if type(value).__module__ == AGENT_MODULE:
        return f"{kind} (an object of a class your code defined)"
    if isinstance(value, list | tuple) and value and all(isinstance(row, dict) for row in value[:50]):
        return _describe_rows(value, name)
    shape = getattr(value, "shape", None)
    if shape is not None:
        try:
            kind += f" shape={tuple(shape)}"
        except TypeError:
            pass
    elif hasattr(value, "__len__"):
        try:
            kind += f" len={len(value)}"
        except Exception:  # noqa: BLE001, S110 - some objects lie about __len__
            pass
    columns = getattr(value, "columns", None)
    extra = f" columns={list(columns)[:12]}" if columns is not None else ""
    text = short_repr(value).replace("\n", " ")[:120]
    return f"{kind}{extra} = {text}"


def _describe_rows(rows: list[Any] | tuple[Any, ...], name: str) -> str:
    """Rows as dicts, said as rows, with how to read one value (shown `columns=`, a small model unpacked them as tuples)."""
    first = rows[0]
    keys = [str(k) for k in list(first)[:12]]
    read = ""
    if first and isinstance(next(iter(first)), str):
        key = next(iter(first))
        read = f" {name}[0][{key!r}] is {short_repr(first[key])[:40]};"
    text = short_repr(first).replace("\n", " ")[:160]
    return f"a {type(rows).__name__} of {len(rows)} dicts (rows) with keys {', '.join(keys)};{read} row 0 = {text}"


def in_a_rut(steps: list[Step]) -> bool:
    """Whether the last step repeats an earlier one: the same code, or an error the run already hit."""
    if not steps:
        return False
    last = steps[-1]
    if repeats(steps[:-1], last.code):
        return True
    if not last.error:
        return False
    line = error_line(last.error)
    return any(s.error and error_line(s.error) == line for s in steps[:-1])


def repeats(earlier: list[Step], code: str | None) -> Step | None:
    """The earlier step that ran this same code, if one did."""
    if not code or not code.strip():
        return None
    return next((s for s in earlier if s.code and s.code.strip() == code.strip()), None)


def error_line(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def asserts_run(code: str) -> int:
    """How many `assert` statements the block itself runs (not those inside its functions)."""
    tree = parse(code)
    return 0 if tree is None else len(asserts_in(tree))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def printed_nothing(code: str, checks: int = 0, examined: AbstractSet[str] = frozenset()) -> str:
    """What to say when a block printed nothing: what it defined, whether anything ran it, its passed asserts.

    `examined`: the functions whose given examples ran (what they gave is said after this).
    """
    tree = parse(code)
    defined, functions, called = [], [], False
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defined.append(f"{node.name}({ast.unparse(node.args)})")
            functions.append(node.name)
            continue
        if isinstance(node, ast.ClassDef):
            defined.append(node.name)
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and n.id not in defined]
        called = called or any(isinstance(n, ast.Call) for n in ast.walk(node))
    if checks:
        ran = f"The code ran and defined {', '.join(defined)}; its" if defined else "The code ran; its"
        return prompts.CHECKED_SILENTLY.format(ran=ran, count=plural(checks, "assert"))
    if not defined:
        return prompts.PRINTED_NOTHING
    if functions and set(functions) <= examined and not called:
        return prompts.DEFINED.format(names=", ".join(defined))
    if functions and not called:
        return prompts.ONLY_DEFINED.format(names=", ".join(defined), function=functions[-1])
    return prompts.DEFINED_SILENTLY.format(names=", ".join(defined))


def import_hint(error: str, authorized: AbstractSet[str], callables: AbstractSet[str]) -> str | None:
    """What to do about a `NameError` (or a refused import of a tool): the import, or the definition, it lacks.

    `authorized`: the modules the code may import; `callables`: the tools and helpers it has.
    """
    imported = re.search(r"import of '(\w+)' is not allowed", error)
    if imported and imported.group(1) in callables:
        return prompts.TOOL_IMPORT_HINT.format(name=imported.group(1))
    match = re.search(r"NameError: name '(\w+)' is not defined", error)
    if not match:
        return None
    name = match.group(1)
    if name in authorized:
        return prompts.IMPORT_HINT.format(statement=f"import {name}")
    for module in sorted(authorized):
        real = sys.modules.get(module)
        if real is not None and not isinstance(getattr(real, name, None), types.ModuleType) and hasattr(real, name):
            return prompts.IMPORT_HINT.format(statement=f"from {module} import {name}")
    if re.search(rf"\b{re.escape(name)}\(", error):  # called as a function the model never wrote
        return prompts.DEFINE_FUNCTION_HINT.format(name=name)
    return prompts.DEFINE_HINT.format(name=name)


def as_reply(thought: str, code: str) -> str:
    """The model's reply as kept in the conversation: thought and code, nothing it rambled after."""
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}```python\n{code}\n```"
