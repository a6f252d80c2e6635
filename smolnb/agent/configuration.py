"""An agent as plain data and back: what `save` writes and `load` rebuilds."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import UserError
from ..protocols import AgentMemory
from ..redact import is_secret_name
from ..tools import Tool

if TYPE_CHECKING:
    from ..models import Model
    from ..tools import ToolSet
    from .base import MultiStepAgent

__all__ = ["Configurable"]


class Configurable:
    """`to_config`, `save`, `load`, `from_config`; every agent class registers itself by name for `from_config`."""

    agent_types: ClassVar[dict[str, type[Any]]] = {}

    if TYPE_CHECKING:
        model: Model
        tools: ToolSet
        memory: AgentMemory | None
        max_steps: int
        planning_interval: int | None
        name: str | None
        description: str | None
        system_prompt: str | None
        model_params: dict[str, Any]
        managed_agents: dict[str, MultiStepAgent]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Configurable.agent_types[cls.__name__] = cls

    def to_config(self) -> dict[str, Any]:
        """The agent as plain data: model, tools by reference and version, prompts, limits, helpers."""
        from ..tools.tool import FunctionTool

        tools = []
        for item in self.tools:
            target = item.fn if isinstance(item, FunctionTool) else type(item)
            tools.append(
                {
                    "name": item.name,
                    "version": item.version,
                    "ref": f"{target.__module__}:{target.__qualname__}",
                    "kind": "function" if isinstance(item, FunctionTool) else "class",
                }
            )
        memory = getattr(self.memory, "uri", None) if self.memory is not None else None
        return {
            "type": type(self).__name__,
            "model": self.model.model_id,
            "tools": tools,
            "max_steps": self.max_steps,
            "planning_interval": self.planning_interval,
            "name": self.name,
            "description": self.description,
            "system_prompt": self.system_prompt,
            "model_params": {k: v for k, v in self.model_params.items() if not is_secret_name(k)},  # keys stay out of files
            "memory": memory,
            "managed_agents": [a.to_config() for a in self.managed_agents.values()],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `to_config()` to a JSON file."""
        import json
        from pathlib import Path

        Path(path).write_text(json.dumps(self.to_config(), indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike[str], **overrides: Any) -> MultiStepAgent:
        """Rebuild an agent saved with `save` (keyword arguments override saved settings, e.g. model=)."""
        import json
        from pathlib import Path

        return cls.from_config(json.loads(Path(path).read_text()), **overrides)

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides: Any) -> MultiStepAgent:
        import importlib

        kind = Configurable.agent_types.get(config.get("type", cls.__name__), cls)
        tools = []
        for ref in config.get("tools", []) if "tools" not in overrides else []:  # tools given replace the saved ones
            module, _, qualname = ref["ref"].partition(":")
            try:
                target: Any = importlib.import_module(module)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                raise UserError(
                    f"tool {ref['name']!r} ({ref['ref']}) cannot be imported: {exc}. Define it in an importable "
                    "module, or pass tools=[...] to load()."
                ) from None
            from ..tools import as_tool

            # a decorated function resolves to its Tool; a Tool class is instantiated
            item = target if isinstance(target, Tool) else as_tool(target() if ref.get("kind") == "class" else target)
            if item.version != ref["version"]:
                raise UserError(
                    f"tool {ref['name']!r} is now version {item.version}, but the agent was saved with "
                    f"{ref['version']}: pass tools=[...] to load() to accept the new version"
                )
            tools.append(item)
        settings = {k: v for k, v in config.items() if k not in ("type", "tools", "managed_agents", "memory")}
        settings["tools"] = tools
        settings["managed_agents"] = [cls.from_config(sub) for sub in config.get("managed_agents", [])]
        settings.update(overrides)
        agent: MultiStepAgent = kind(**settings)
        return agent
