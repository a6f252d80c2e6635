"""An agent from what a person typed: one path for the `%%agent` magic and the `smolnb run` command.

Both front ends take the same things as text (a model name, a step limit, comma-separated
imports, tool names they resolve themselves) and the same rule for memory: a memory that
cannot open is reported and the run goes on without it, rather than not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import SmolnbError
from ..protocols import AgentMemory
from .code_agent import CodeAgent

__all__ = ["build_agent", "open_memory"]


def open_memory(open_: Callable[[], AgentMemory], report: Callable[[str], None], hint: str = "") -> AgentMemory | None:
    """What `open_()` gives, or None after `report`ing why (with `hint`, how to stop the message)."""
    try:
        return open_()
    except SmolnbError as exc:
        report(f"smolnb: long-term memory is unavailable, this run goes on without it: {exc}{hint}")
        return None


def build_agent(
    *,
    model: str | None = None,
    max_steps: int | None = None,
    tools: Iterable[Any] = (),
    imports: str | Iterable[str] = (),
    memory: AgentMemory | None = None,
    listeners: Iterable[Callable[..., Any]] = (),
    **options: Any,
) -> CodeAgent:
    """A `CodeAgent` from front-end settings: an empty model or step limit means the default.

    `imports` are module names as typed (`"pandas, numpy"`, or lists of such strings); other
    keyword arguments (`executor`, `namespace`, `approve`, `name`) go to `CodeAgent` as given.
    """
    if max_steps:
        options["max_steps"] = max_steps
    return CodeAgent(
        model=model or None,
        tools=list(tools),
        memory=memory,
        authorized_imports=imports,  # the policy reads names as typed
        listeners=list(listeners),
        **options,
    )
