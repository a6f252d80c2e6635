"""Built-in tools, registered like any other: they work offline."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from .tool import Tool, tool

__all__ = ["BUILTIN_TOOLS", "FinalAnswerTool"]


class FinalAnswerTool(Tool):
    """The tool form of `final_answer` (agents provide it themselves; listed for discovery)."""

    name = "final_answer"
    description = "Give the final answer to the task and end the run."
    inputs = {"answer": {"type": "any", "description": "The final answer."}}
    output_type = "any"
    version = "1.0.0"
    source = "builtin"

    def forward(self, answer: object) -> object:
        from ..errors import FinalAnswer

        raise FinalAnswer(answer)


@tool(version="1.0.0")
def current_datetime(timezone_offset_hours: float = 0.0) -> str:
    """The current date and time, ISO formatted.

    Args:
        timezone_offset_hours: Offset from UTC in hours.
    """
    zone = _dt.timezone(_dt.timedelta(hours=timezone_offset_hours))
    return _dt.datetime.now(zone).isoformat(timespec="seconds")


@tool(version="1.0.0")
def read_text(path: str, max_chars: int = 20000) -> str:
    """Read a text file (read-only), cut to max_chars characters.

    Args:
        path: The file's path.
        max_chars: How many characters to return at most.
    """
    text = Path(path).expanduser().read_text(errors="replace")
    return text if len(text) <= max_chars else text[:max_chars] + f"\n[... {len(text) - max_chars:,} more characters]"


for _item in (current_datetime, read_text):
    _item.source = "builtin"

BUILTIN_TOOLS: list[Tool] = [FinalAnswerTool(), current_datetime, read_text]
