"""An agent's long-term memory: what goes into the prompt, what a run stores, facts extracted after it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, ModelError, UserError
from ..events import Event, MemoryAccess, Step
from ..logs import logger
from ..models import Message, ModelResponse
from ..protocols import AgentMemory
from ..redact import redact
from . import prompts
from .run_state import RunContext

if TYPE_CHECKING:
    from ..models import Model
    from ..tools import Tool

__all__ = ["Remembering"]


class Remembering:
    """Memory around a run: recalled before it, its answer and (optionally) its facts stored after it."""

    if TYPE_CHECKING:
        memory: AgentMemory | None
        model: Model
        name: str | None
        _memory_tools: list[Tool]
        _memory_meta: dict[str, Any]

        def _emit(self, ctx: RunContext, event: Event) -> None: ...

        async def _call_model(self, ctx: RunContext, step: Step, messages: list[Message], **kwargs: Any) -> ModelResponse: ...

    def _attach_memory(self, ctx: RunContext) -> None:
        """With a Memory: the most relevant memories go into the prompt, memory tools into the toolbox."""
        if self.memory is None:
            return
        self._memory_meta.clear()
        self._memory_meta.update({"run_id": ctx.run_id, "agent": self.name or type(self).__name__})
        if not self._memory_tools:
            self._memory_tools = self.memory.tools(self._memory_meta)
        recalled, items = self.memory.context(ctx.task, run_id=ctx.run_id)
        ctx.context = recalled + ctx.context
        if items:
            texts = [item.text for item in items]
            self._emit(ctx, MemoryAccess(run_id=ctx.run_id, step=ctx.step, op="read", query=ctx.task, items=texts))

    def _store_in_memory(self, ctx: RunContext, output: Any) -> None:
        if self.memory is None:
            return
        try:
            # An outcome, not knowledge: right or wrong, it is kept (for review and search) marked
            # unverified, and never put into a later run's prompt as a relevant memory.
            text = f"Task: {ctx.task}\nAnswer: {output}"
            ids = self.memory.remember(
                text,
                source=f"run:{ctx.run_id}",
                provenance={
                    "run_id": ctx.run_id,
                    "step": ctx.step,
                    "agent": self.name or type(self).__name__,
                    "outcome": True,
                    "verified": False,
                    "status": "success",
                    "model": self.model.model_id,
                },
            )
        except (BackendError, UserError) as exc:
            logger.warning("the run's answer was not stored in memory: %s", exc)
            return
        self._emit(ctx, MemoryAccess(run_id=ctx.run_id, step=ctx.step, op="write", items=[redact(text)], ids=list(ids)))

    async def _extract_facts(self, ctx: RunContext, output: Any) -> list[Any]:
        """Ask the model for the facts the run established (JSON), and store them with provenance.

        A reply that is not the JSON asked for stores nothing and says so in the log.
        """
        if self.memory is None:
            return []
        messages: list[Message] = [
            {"role": "user", "content": prompts.EXTRACT_FACTS.format(task=ctx.task, answer=str(output)[:2000])}
        ]
        step = Step(run_id=ctx.run_id, step=ctx.step, kind="final", start=time.time())
        try:
            response = await self._call_model(ctx, step, messages, response_format={"type": "json_object"})
            facts = _parse_facts(response.content)
        except (ModelError, ValueError) as exc:
            logger.warning("fact extraction after run %s stored nothing: %s", ctx.run_id, exc)
            return []
        meta = {
            "run_id": ctx.run_id,
            "step": ctx.step,
            "agent": self.name or type(self).__name__,
            "source": "extraction",
            "time": time.time(),
        }
        stored = []
        for subject, relation, obj in facts:
            try:
                stored.append(self.memory.graph.add_fact(subject, relation, obj, provenance=meta))
            except (BackendError, UserError) as exc:
                logger.warning("an extracted fact was not stored (%s, %s, %s): %s", subject, relation, obj, exc)
        return stored


def _parse_facts(text: str) -> list[tuple[str, str, str]]:
    """`{"facts": [{"subject": ..., "relation": ..., "object": ...}]}` (or a bare list) -> triples."""
    import json
    import re

    match = re.search(r"[\[{].*[\]}]", text, re.S)
    if match is None:
        raise ValueError(f"the model's reply holds no JSON: {text[:120]!r}")
    data = json.loads(match.group(0))
    items = data.get("facts", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("the JSON has no list of facts")
    facts = []
    for item in items:
        if isinstance(item, dict) and all(isinstance(item.get(k), (str, int, float)) for k in ("subject", "relation", "object")):
            facts.append((str(item["subject"]), str(item["relation"]), str(item["object"])))
    return facts
