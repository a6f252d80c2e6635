"""The step-trace widget: live in JupyterLab, static HTML and text everywhere else."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..events import Event, Live, RunEnd, RunStart, Step, StepStart
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


@functools.cache
def _live_view_class() -> Any:
    """The anywidget view (clock, Stop, copy to cell), or None without anywidget."""
    try:
        import anywidget
        import traitlets
    except ImportError:
        return None

    class LiveTrace(anywidget.AnyWidget):
        _esm = Path(__file__).with_name("trace.js")
        _css = ".snb-bar{margin:2px 0}.snb-stop{font-size:12px;padding:1px 8px;cursor:pointer}.snb-note{margin-left:8px;color:#57606a;font-size:12px}"
        html = traitlets.Unicode("").tag(sync=True)
        running = traitlets.Bool(False).tag(sync=True)
        foreground = traitlets.Bool(False).tag(sync=True)  # a running cell: Stop interrupts the kernel
        kernel_id = traitlets.Unicode("").tag(sync=True)
        server_time = traitlets.Float(0.0).tag(sync=True)

    return LiveTrace


class TraceWidget:
    """A live trace: pass it as a listener.

    It re-renders on every step and at most every `interval` seconds for smaller events (model and tool calls, printed output),
    with a last render after a burst so nothing stays stale; clocks tick in the browser.

    `on_stop` is called when the user presses Stop (for a run in the background; a running
    cell is stopped by the kernel interrupt the button sends).
    """

    def __init__(self, interval: float = 0.2, on_stop: Callable[[], None] | None = None) -> None:
        from ..errors import MissingExtraError

        try:
            import ipywidgets
        except ImportError as exc:
            raise MissingExtraError("notebook", "ipywidgets", "the live trace widget") from exc
        self.state = TraceState()
        self.events: list[Event] = []
        self.interval = interval
        self.on_stop = on_stop
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        view = _live_view_class()
        if view is None:  # plain HTML: no clock, no Stop button
            self.widget = ipywidgets.HTML(layout=ipywidgets.Layout(width="100%"))
        else:
            self.widget = view(kernel_id=_kernel_id())
            self.widget.on_msg(self._message)
        _highlight("x = 1")  # load the highlighter now, not during the first step
        self.widget.add_class("smolnb-trace")

    @property
    def foreground(self) -> bool:
        return bool(getattr(self.widget, "foreground", False))

    @foreground.setter
    def foreground(self, value: bool) -> None:
        if hasattr(self.widget, "foreground"):
            self.widget.foreground = value

    def __call__(self, event: Event) -> None:
        with self._lock:
            if not isinstance(event, Live):
                self.events.append(event)
            self.state.add(event)
        now = time.monotonic()
        if (
            isinstance(event, Step | StepStart | RunStart | RunEnd)
            or (isinstance(event, Live) and event.what == "code")
            or now - self._last >= self.interval
        ):
            self.refresh()
        else:
            self._refresh_later()

    def _refresh_later(self) -> None:
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.interval, self.refresh)
            self._timer.daemon = True
            self._timer.start()

    def refresh(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
            html = render_html(self.state)
            running = any(run.end is None for run in self.state.roots)
        if hasattr(self.widget, "server_time"):
            self.widget.server_time = time.time()
            self.widget.running = running
        if hasattr(self.widget, "html"):
            self.widget.html = html
        else:
            self.widget.value = html

    def _message(self, widget: Any, content: Any, buffers: Any) -> None:
        on_stop = self.on_stop
        stop = isinstance(content, dict) and content.get("event") == "stop"
        if stop and on_stop is not None and any(run.end is None for run in self.state.roots):
            on_stop()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _kernel_id() -> str:
    """This kernel's id (its connection file is `kernel-ID.json`), for the Stop button."""
    try:
        from ipykernel import get_connection_file

        name = Path(get_connection_file()).stem
    except Exception:  # noqa: BLE001 - not in a kernel: no interrupt from the page
        return ""
    return name.removeprefix("kernel-")
