"""The step-trace widget: live in JupyterLab (ipywidgets), static HTML and text everywhere else."""

from __future__ import annotations

import time
from typing import Any

from ..events import Event, RunEnd, Step, StepStart
from .render import TraceState, _highlight, render_html, render_text

__all__ = ["TraceView", "TraceWidget"]


class TraceView:
    """A run's trace rendered from its events: HTML in a notebook, text in a terminal."""

    def __init__(self, events: list[Event]) -> None:
        self.events = list(events)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        state = TraceState(self.events)
        return {"text/plain": render_text(state), "text/html": render_html(state)}

    def __repr__(self) -> str:
        return render_text(TraceState(self.events))


class TraceWidget:
    """A live trace: pass it as a listener; it re-renders on every step (and at most every
    `interval` seconds for smaller events such as model and tool calls)."""

    def __init__(self, interval: float = 0.2) -> None:
        from ..errors import MissingExtraError

        try:
            import ipywidgets
        except ImportError as exc:
            raise MissingExtraError("notebook", "ipywidgets", "the live trace widget") from exc
        self.state = TraceState()
        self.events: list[Event] = []
        self.interval = interval
        self._last = 0.0
        self.widget = ipywidgets.HTML(layout=ipywidgets.Layout(width="100%"))
        _highlight("x = 1")  # load the highlighter now, not during the first step
        self.widget.add_class("smolnb-trace")

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.state.add(event)
        now = time.monotonic()
        if isinstance(event, Step | StepStart | RunEnd) or now - self._last >= self.interval:
            self.refresh()

    def refresh(self) -> None:
        self._last = time.monotonic()
        self.widget.value = render_html(self.state)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
