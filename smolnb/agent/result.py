"""The result of a run."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Literal

from ..events import Event, Step, Usage, calls_note, counted
from .confidence import LABELS

__all__ = ["ErrorKind", "RunResult", "Status"]

Status = Literal["success", "max_steps", "error", "interrupted"]
ErrorKind = Literal["model", "transient", "crash", "interrupted"]
"""Why a run did not end well: the model refused for good, the model failed in a way a retry may fix
(rate limit, time-out, a server gone), smolnb or a backend crashed, or the user stopped it."""


@dataclass
class RunResult:
    """What `agent.run(task)` returns."""

    output: Any
    status: Status
    run_id: str
    task: str = ""
    model: str = ""
    steps: list[Step] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    error_kind: ErrorKind | None = None  # set with `error`: what kind of failure, for code that decides on it
    duration: float = 0.0
    model_calls: int = 0
    format_errors: int = 0
    events: list[Event] = field(default_factory=list, repr=False)
    confidence: str = "none"  # checked | computed | stated | forced | none: smolnb.agent.confidence

    @property
    def action_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "action"]

    def __str__(self) -> str:
        return str(self.output)

    def summary(self) -> str:
        """One line: status, steps, model calls, tokens, time."""
        reached = f" · {LABELS[self.confidence]}" if self.confidence in ("checked", "computed", "stated") else ""
        return (
            f"{self.status}{reached} · {counted(len(self.action_steps), 'step')} · "
            f"{calls_note(self.status, len(self.action_steps), self.model_calls)} · "
            f"{self.usage.input_tokens:,} in / {self.usage.output_tokens:,} out tokens · {self.duration:.2f} s"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        text = f"{self.output!r}\n[{self.summary()}]"
        if self.error:
            text += f"\nerror: {self.error}"
        color = {"success": "#1a7f37", "max_steps": "#9a6700", "error": "#cf222e", "interrupted": "#6e7781"}[self.status]
        body = f"<div><b>{html.escape(repr(self.output))}</b><br><span style='color:{color}'>{html.escape(self.summary())}</span>"
        if self.error:
            body += f"<pre style='color:#cf222e'>{html.escape(self.error)}</pre>"
        return {"text/plain": text, "text/html": body + "</div>"}
