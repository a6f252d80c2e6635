"""The set of tools an agent holds; it can change between the steps of a live run."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import UserError, did_you_mean
from .tool import FunctionTool, Tool

__all__ = ["ToolSet", "as_tool"]


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """Accept a `Tool` or a plain typed function."""
    if isinstance(obj, Tool):
        obj._check_definition()
        return obj
    if callable(obj):
        return FunctionTool(obj)
    raise UserError(f"{obj!r} is not a tool: pass a Tool, an @tool function or a typed function with a docstring")


class ToolSet:
    """An ordered set of tools by name; `revision` goes up on every change."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any] | str] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self.revision = 0
        for t in tools:
            self.add(t)

    def add(self, obj: Tool | Callable[..., Any] | str, *, replace: bool = True) -> Tool:
        """Add a tool, or replace the one of the same name.

        A `Tool`, a typed function, or a pin such as `"geocode>=1.2,<2"` looked up in the global
        registry.
        """
        if isinstance(obj, str):
            from .registry import registry

            obj = registry.get(obj)
        item = as_tool(obj)
        if isinstance(obj, Tool) and obj.__class__.__name__ == "FinalAnswerTool":
            raise UserError("'final_answer' is reserved: the agent provides it")
        if item.name in self._tools and not replace:
            raise UserError(f"a tool named {item.name!r} is already loaded: remove it first or pass replace=True")
        if item.name == "final_answer":
            raise UserError("'final_answer' is reserved: the agent provides it")
        self._tools[item.name] = item
        self.revision += 1
        return item

    def remove(self, name: str) -> Tool:
        """Remove a tool by name."""
        if name not in self._tools:
            raise UserError(
                f"no tool named {name!r}.{did_you_mean(name, self._tools)} Loaded: {', '.join(self._tools) or 'none'}"
            )
        self.revision += 1
        return self._tools.pop(name)

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)

    def resolve(self) -> list[Tool]:
        """Check the set before a run.

        The tools the tools use (added from the global registry when missing here) and the packages
        they need. Raises `ToolResolutionError` listing every problem.
        """
        from .registry import ToolRegistry, registry

        scope = ToolRegistry()
        scope._tools = {name: dict(versions) for name, versions in registry._tools.items()}
        for item in self._tools.values():
            from packaging.version import Version

            scope._tools[item.name] = {Version(item.version): item}  # this set's choice wins
        ordered = scope.resolve(list(self._tools.values()))
        for item in ordered:
            if item.name not in self._tools:
                self.add(item)
        return ordered

    def versions(self) -> dict[str, str]:
        return {t.name: t.version for t in self._tools.values()}

    def __repr__(self) -> str:
        return f"ToolSet({', '.join(self._tools)})"
