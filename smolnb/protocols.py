"""What an agent needs of the parts it is given: the seams, as Protocols.

An agent runs with a memory, a run store and event sinks. It never imports their classes: it
asks only for what is written here, so a researcher's own memory or store plugs in as long as it
answers these calls (and the shipped `Memory` and `RunStore` do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from .events import Event

__all__ = ["AgentMemory", "EventSink", "FactStore", "Recalled", "RunRecorder", "StoreOption", "StoredRun"]


class EventSink(Protocol):
    """Takes one event of a run (a listener, the run store's writer, the tracer)."""

    def __call__(self, event: Event, /) -> None: ...


class StoredRun(Protocol):
    """A run as the store knows it: what resume and fork read."""

    @property
    def run_id(self) -> str: ...

    @property
    def task(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def steps(self) -> int: ...

    @property
    def parent_run_id(self) -> str | None: ...


class RunRecorder(Protocol):
    """A run store: writes each event of a run and reads a run back (resume, fork)."""

    def listener(self, event: Event, /) -> None: ...

    def get(self, run_id: str) -> StoredRun: ...

    def events(self, run_id: str, *, with_children: bool = True) -> list[Event]: ...


StoreOption = RunRecorder | Literal["default"] | None
"""An agent's `store=`: a run store, "default" (the one under SMOLNB_HOME), or None (nothing kept)."""


class Recalled(Protocol):
    """A memory put into a run's prompt."""

    @property
    def text(self) -> str: ...


class FactStore(Protocol):
    """A knowledge graph, as an agent adds to it."""

    def add_fact(
        self, subject: str, predicate: str, object: str, *, functional: bool = False, provenance: dict[str, Any] | None = None
    ) -> Any: ...


class AgentMemory(Protocol):
    """A long-term memory, as an agent uses it: recall for the prompt, tools, storing the answer and facts."""

    @property
    def graph(self) -> FactStore: ...

    def context(
        self, task: str, k: int = 5, budget_tokens: int | None = 400, run_id: str | None = None
    ) -> tuple[str, Sequence[Recalled]]: ...

    def tools(self, provenance: dict[str, Any] | None = None) -> list[Any]: ...

    def remember(
        self,
        text: str | None = None,
        *,
        facts: Sequence[tuple[str, str, str]] = (),
        source: str = "",
        provenance: dict[str, Any] | None = None,
        functional: bool = False,
    ) -> list[str]: ...
