"""Tools: `@tool`, `Tool`, and the set an agent holds."""

from .tool import FunctionTool, Tool, tool
from .toolset import ToolSet, as_tool

__all__ = ["FunctionTool", "Tool", "ToolSet", "as_tool", "tool"]
