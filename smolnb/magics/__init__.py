"""IPython magics: `%%agent` runs an agent in the kernel, `%agent` manages models, tools and runs."""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (cheap: agents, models and widgets load on first use)."""
    from .agent_magics import AgentMagics

    ipython.register_magics(AgentMagics)
