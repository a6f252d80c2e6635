"""smolnb: agents that think in Python code, at home in a Jupyter notebook.

Heavy parts load on first use, so `import smolnb` and `%load_ext smolnb` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "CodeAgent",
    "Memory",
    "RunResult",
    "Tool",
    "ToolCallingAgent",
    "get_model",
    "load_ipython_extension",
    "run_many",
    "runs",
    "scheduler",
    "tool",
    "__version__",
]

_LAZY = {
    "CodeAgent": "smolnb.agent",
    "ToolCallingAgent": "smolnb.agent",
    "RunResult": "smolnb.agent",
    "Tool": "smolnb.tools",
    "tool": "smolnb.tools",
    "get_model": "smolnb.models",
    "Memory": "smolnb.memory",
    "run_many": "smolnb.batch",
    "scheduler": "smolnb.scheduling",
}

if TYPE_CHECKING:
    from .agent import CodeAgent, RunResult, ToolCallingAgent
    from .models import get_model
    from .tools import Tool, tool


def runs(**filters: Any) -> list[Any]:
    """Stored runs, newest first (`status=`, `model=`, `limit=` filter them)."""
    from .persistence import default_store

    return default_store().runs(**filters)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext smolnb`: register the `%%agent` and `%agent` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'smolnb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
