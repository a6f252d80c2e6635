"""Where a run's events go: one list of sinks, each saying which events it takes.

The run store, the tracer, listeners and the live widget are all sinks. Every event of the run
goes to every sink that takes it, in the order the sinks were given; a sink never learns of
events by another way. What a sink takes:

- the run's own events: every sink;
- a managed agent's events, forwarded by its manager: sinks with `forwarded` (listeners; the
  helper's own run stores and traces them);
- `Live` events (what a step does now; neither stored nor traced): sinks with `live`;
- the start of a tool call, written before a side-effecting tool runs: sinks with `record`
  (the run store) alone; everyone else sees the call once, when it is done.

A sink's failure: the run store's `BackendError` is logged and the run goes on (the store keeps
the events and writes them at the next step); a live view's failure is logged; any other
failure of a sink fails the run, as a bug should.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import BackendError
from ..events import Event, Live
from ..logs import logger

__all__ = ["EventBus", "Listener", "Sink"]

Listener = Callable[[Event], None]


@dataclass(frozen=True)
class Sink:
    """One consumer of a run's events, and which of them it takes (see the module's doc)."""

    receive: Listener
    name: str = "listener"
    record: bool = False
    forwarded: bool = False
    live: bool = False


class EventBus:
    """The sinks of one run."""

    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self.sinks = tuple(sinks)
        self.records = any(s.record for s in self.sinks)  # a run store is on: snapshots are worth taking
        self.live = any(s.live for s in self.sinks)  # someone watches: worth streaming text to

    def publish(self, event: Event, *, forwarded: bool = False, record_only: bool = False) -> None:
        """Give `event` to every sink that takes it."""
        live = isinstance(event, Live)
        for sink in self.sinks:
            if (live and not sink.live) or (forwarded and not sink.forwarded) or (record_only and not sink.record):
                continue
            try:
                sink.receive(event)
            except BackendError as exc:
                if not sink.record:
                    raise
                logger.warning("%s", exc)  # the store keeps the events and retries; the run goes on
            except Exception:
                if not live:
                    raise
                logger.debug("a live view failed", exc_info=True)  # a view's failure is not the run's
