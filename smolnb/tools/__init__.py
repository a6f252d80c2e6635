"""Tools: `@tool`, `Tool`, and the set an agent holds."""

from .tool import FunctionTool, Tool, tool
from .registry import ToolRegistry, ToolResolutionError, breaking_changes, parse_pin, registry
from .toolset import ToolSet, as_tool

__all__ = [
    "FunctionTool",
    "Tool",
    "ToolRegistry",
    "ToolResolutionError",
    "ToolSet",
    "as_tool",
    "breaking_changes",
    "parse_pin",
    "registry",
    "tool",
]
