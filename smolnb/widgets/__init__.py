"""Widgets: the step trace (live and static) and its renderers."""

from .browser import RunBrowser
from .eval_browser import EvalBrowser
from .graph_view import NeighbourhoodView
from .render import TraceState, render_html, render_text
from .trace import TraceView, TraceWidget

__all__ = [
    "EvalBrowser",
    "NeighbourhoodView",
    "RunBrowser",
    "TraceState",
    "TraceView",
    "TraceWidget",
    "render_html",
    "render_text",
]
