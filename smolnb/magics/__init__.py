"""IPython magics: `%%agent` runs an agent in the kernel, `%agent` manages models, tools and runs."""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (cheap: agents, models and widgets load on first use)."""
    from .agent_magics import AgentMagics

    ipython.register_magics(AgentMagics)
    cleanup = getattr(ipython, "input_transformers_cleanup", None)
    if cleanup is not None and _question_kept not in cleanup:
        cleanup.append(_question_kept)


def _question_kept(lines: list[str]) -> list[str]:
    """`%agent memory search How many GPUs?`: the trailing `?` is part of the question.

    IPython would take it as a help request; the line becomes an explicit call instead.
    """
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("%agent ") and stripped.endswith("?"):
            indent = line[: len(line) - len(line.lstrip())]
            ending = "\n" if line.endswith("\n") else ""
            out.append(f"{indent}get_ipython().run_line_magic('agent', {stripped[len('%agent ') :]!r}){ending}")
        else:
            out.append(line)
    return out
