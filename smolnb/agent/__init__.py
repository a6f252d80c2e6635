"""Agents: the step loop, the code agent and the tool-calling agent."""

from .base import MultiStepAgent, RunContext
from .code_agent import CodeAgent
from .result import RunResult, Status
from .tool_calling import ToolCallingAgent

__all__ = ["CodeAgent", "MultiStepAgent", "RunContext", "RunResult", "Status", "ToolCallingAgent"]
