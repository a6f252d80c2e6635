"""Tools: `@tool`, `Tool`, and the set an agent holds."""

from .registry import ToolRegistry, ToolResolutionError, breaking_changes, parse_pin, registry
from .tool import FunctionTool, Tool, current_call_key, tool
from .toolset import ToolSet, as_tool

__all__ = [
    "FunctionTool",
    "Tool",
    "ToolRegistry",
    "ToolResolutionError",
    "ToolSet",
    "as_tool",
    "breaking_changes",
    "current_call_key",
    "parse_pin",
    "registry",
    "tool",
]
