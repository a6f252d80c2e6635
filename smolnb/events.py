"""Typed, serialisable records of what a run does.

The step loop emits these and never prints; the result, the widgets, the run store and the
tracer all consume the same records. Each record has a `type` tag, the ids of its run and
step, and a timestamp, and turns into plain JSON with `to_dict()`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, cast

__all__ = [
    "Event",
    "Live",
    "MemoryAccess",
    "ModelCall",
    "RunEnd",
    "RunStart",
    "Snapshot",
    "Step",
    "StepStart",
    "ToolCall",
    "Usage",
    "calls_note",
    "counted",
    "event_from_dict",
]


@dataclass
class Usage:
    """Tokens counted by the model provider."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class Event:
    """Base of every record: which run, which step, when."""

    type: ClassVar[str] = "event"
    run_id: str
    step: int = 0
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (shallow: nested lists and dicts are shared, not copied)."""
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        for key, value in data.items():
            if isinstance(value, Usage):
                data[key] = asdict(value)
        data["type"] = self.type
        return data


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cast(Any, cls)))  # a dataclass
    return names


@dataclass
class RunStart(Event):
    type: ClassVar[str] = "run_start"
    task: str = ""
    agent: str = ""
    agent_type: str = ""
    model: str = ""
    tools: dict[str, str] = field(default_factory=dict)  # name -> version
    parent_run_id: str | None = None
    parent_step: int | None = None
    forked_from: str | None = None  # "run_id@step" for a fork


@dataclass
class StepStart(Event):
    type: ClassVar[str] = "step_start"
    kind: str = "action"


@dataclass
class ModelCall(Event):
    type: ClassVar[str] = "model_call"
    purpose: str = "action"  # action | planning | final
    model: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    duration: float = 0.0
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # invocation parameters (temperature, stop, ...)


@dataclass
class ToolCall(Event):
    """A call of a tool (or managed agent) by the code.

    A call with side effects is recorded twice: `phase="started"` before it runs (so a crash
    in the middle is known), `phase="done"` after, with its result. `key` names the call within
    its step; `value` is the result as JSON when it has a small, safe form (a resumed run is
    answered from it); `replayed` marks a call answered from such a record instead of run.
    """

    type: ClassVar[str] = "tool_call"
    name: str = ""
    version: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    result: str | None = None
    error: str | None = None
    duration: float = 0.0
    key: str = ""
    phase: str = "done"
    value: Any = None
    side_effects: bool = True
    replayed: bool = False


@dataclass
class Step(Event):
    """One finished step: what the model said, the code, and what came of it."""

    type: ClassVar[str] = "step"
    kind: Literal["action", "planning", "final"] = "action"
    model_output: str = ""
    thought: str = ""
    code: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    observation: str = ""
    error: str | None = None
    error_kind: str | None = None
    is_final: bool = False
    final_value: Any = None
    usage: Usage = field(default_factory=Usage)
    start: float = 0.0
    duration: float = 0.0
    model_duration: float = 0.0
    exec_duration: float = 0.0
    model_calls: int = 0
    approval: str | None = None  # with approve-before-run: "approved", "edited" or "skipped"
    proposed_code: str | None = None  # the model's code, when the user edited it
    challenged: bool = (
        False  # its final answer was sent back (a function for a value; with challenge=True a constant or a misfit)
    )
    checked: list[str] = field(default_factory=list)  # functions it defined whose given examples all passed


@dataclass
class Snapshot(Event):
    """The code's variables after a step (pickled, base64), and those left out by name and type.

    A `partial` snapshot holds only the variables that changed since the run's last snapshot,
    and names in `removed` the ones no longer kept; the run's snapshots in order make the whole.
    """

    type: ClassVar[str] = "snapshot"
    data: str = ""
    missing: dict[str, str] = field(default_factory=dict)
    partial: bool = False
    removed: list[str] = field(default_factory=list)


@dataclass
class RunEnd(Event):
    type: ClassVar[str] = "run_end"
    status: str = "success"
    output: Any = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    duration: float = 0.0
    steps: int = 0
    confidence: str = ""  # how the answer was reached: smolnb.agent.confidence


@dataclass
class MemoryAccess(Event):
    """What long-term memory gave a run, or what the run stored there, for the trace.

    `op="read"`: the memories put in its prompt; `op="write"`: what the run stored.
    """

    type: ClassVar[str] = "memory"
    op: str = "read"
    query: str = ""
    items: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


@dataclass
class Live(Event):
    """What a step shows while it runs, for live views only (never stored).

    The code as it starts (`what="code"`) and what it prints (`what="stdout"`), as it happens.
    """

    type: ClassVar[str] = "live"
    what: str = "stdout"
    text: str = ""


_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (RunStart, StepStart, ModelCall, ToolCall, Step, Snapshot, RunEnd, Live, MemoryAccess)
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `Event.to_dict()` output (the run store and replay use this)."""
    data = dict(data)
    cls = _TYPES[data.pop("type")]
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if isinstance(kwargs.get("usage"), dict):
        kwargs["usage"] = Usage(**kwargs["usage"])
    return cls(**kwargs)


def counted(n: int, word: str) -> str:
    """`1 step`, `3 steps`: for the one-line summaries of a run."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def calls_note(status: str, steps: int, calls: int) -> str:
    """The model calls of a run, saying why there is one more than steps when the limit was hit."""
    text = counted(calls, "model call")
    if status == "max_steps" and calls > steps:
        text += " (the last one asked for a final answer after the step limit)"
    return text
