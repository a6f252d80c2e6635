"""The one interface every model answers to."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from .._sync import run_sync
from ..events import Usage

__all__ = ["Message", "Model", "ModelResponse", "ToolCallRequest"]

Message = dict[str, Any]
"""A chat message in OpenAI form: `{"role": ..., "content": ...}` (plus `tool_calls` etc.)."""


@dataclass
class ToolCallRequest:
    """A native tool call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any] | str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class ModelResponse:
    """What a model returned for one call."""

    content: str
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    raw: Any = None


class Model(ABC):
    """A chat model. Subclasses implement `agenerate`; `generate` is its sync twin."""

    model_id: str = "model"

    @abstractmethod
    async def agenerate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        """Answer `messages`; `tools` are JSON-schema tool specs in OpenAI form."""

    def generate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        """Sync twin of `agenerate`."""
        return run_sync(self.agenerate(messages, stop=stop, tools=tools, **kwargs))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"
