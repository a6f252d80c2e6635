"""The working state of one run, and how a task becomes clean text."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..events import Event, ModelCall, Snapshot, Step, Usage
from ..models import Message
from ..redact import storable
from .bus import EventBus, Listener
from .effects import Effects

__all__ = ["Listener", "RunContext", "new_run_id", "normalize_task"]


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()


@dataclass
class RunContext:
    """The working state of one run."""

    run_id: str
    task: str
    messages: list[Message] = field(default_factory=list)
    history: list[Message] = field(default_factory=list)
    plan: str | None = None
    steps: list[Step] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_calls: int = 0
    format_errors: int = 0
    step: int = 0
    limit: int = 0  # the run's step limit
    challenged: bool = False  # a constant final answer was sent back once (CodeAgent(challenge=True))
    current: Step | None = None
    resumed: bool = False
    snapshot: Snapshot | None = None  # the latest stored variables, for resume (whole)
    stored_vars: dict[str, int] | None = None  # name -> hash of its pickle in the last snapshot written
    replay: ModelCall | None = None  # a model reply recorded before a crash, used instead of asking again
    context: str = ""  # what the agent knows of its surroundings (e.g. the notebook's variables)
    bus: EventBus = field(default_factory=EventBus)  # where the run's events go (set at its start)
    start: float = field(default_factory=time.perf_counter)
    priority: int = 0
    effects: Effects = field(default_factory=Effects)  # tool calls as recorded effects (exactly once across resume)


def normalize_task(task: Any) -> str:
    """The task as clean text: bytes decoded as UTF-8, lone surrogates replaced, stripped.

    Raises `UserError` naming the problem for anything that is not text, bytes that are not
    UTF-8, and an empty task.
    """
    if isinstance(task, bytes | bytearray):
        try:
            task = bytes(task).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"the task is bytes that are not valid UTF-8 ({exc.reason} at byte {exc.start}): decode it "
                "first, e.g. task.decode('latin-1'), and pass the text"
            ) from None
    if not isinstance(task, str):
        raise UserError(f"the task must be text (str), not {type(task).__name__}: e.g. agent.run('What is 2**10?')")
    text = storable(task).strip()  # lone surrogate halves -> U+FFFD
    if not text:
        raise UserError("the task is empty: pass the question or instruction as text, e.g. agent.run('What is 2**10?')")
    return text
