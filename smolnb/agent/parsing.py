"""Reading code out of a model's reply."""

from __future__ import annotations

import ast
import re

__all__ = ["extract_code", "has_statements", "split_thought"]

_FENCE = re.compile(r"```[ \t]*(python|py|python3)?[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL | re.IGNORECASE)
_CODE_TAG = re.compile(r"<code>\s*(.*?)\s*(?:</code>|\Z)", re.DOTALL)


def extract_code(text: str) -> str | None:
    """The code of a reply: its fenced python blocks joined, else bare code that parses.

    Fenced ```` ```python ```` / ```` ```py ```` blocks are what models write unprompted; an
    unlabelled fence, a `<code>` tag, and a reply that is nothing but valid Python calling
    something are accepted too, since small models often write those.
    """
    blocks = [m.group(2) for m in _FENCE.finditer(text) if m.group(2).strip()]
    if blocks:
        labelled = [m.group(2) for m in _FENCE.finditer(text) if m.group(1) and m.group(2).strip()]
        return "\n\n".join(labelled or blocks).strip()
    tags = [m.group(1) for m in _CODE_TAG.finditer(text) if m.group(1).strip()]
    if tags:
        return "\n\n".join(tags).strip()
    stripped = text.strip()
    if stripped and "(" in stripped:
        try:
            tree = ast.parse(stripped)
        except SyntaxError:
            return None
        if any(isinstance(node, ast.Call) for node in ast.walk(tree)):
            return stripped
    return None


def has_statements(code: str) -> bool:
    """Whether code would run anything: not only comments and blank lines (code that does not parse counts)."""
    try:
        return bool(ast.parse(code).body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True


def split_thought(text: str) -> str:
    """The prose before the first code block, without a leading 'Thought:'."""
    head = re.split(r"```|<code>", text, maxsplit=1)[0].strip()
    return re.sub(r"^\s*thought\s*:\s*", "", head, flags=re.IGNORECASE)
