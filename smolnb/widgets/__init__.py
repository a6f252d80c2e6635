"""Widgets: the step trace (live and static) and its renderers."""

from .browser import RunBrowser
from .render import TraceState, render_html, render_text
from .trace import TraceView, TraceWidget

__all__ = ["RunBrowser", "TraceState", "TraceView", "TraceWidget", "render_html", "render_text"]
