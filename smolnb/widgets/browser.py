"""The run browser: recent runs in a table; choosing one opens its trace."""

from __future__ import annotations

import html
import time
from typing import Any

from .render import TraceState, render_html

__all__ = ["RunBrowser"]


class RunBrowser:
    """Recent runs of a store (task, model, status, steps, tokens, time) and the chosen one's trace."""

    def __init__(self, store: Any, limit: int = 20) -> None:
        import ipywidgets

        self.store = store
        self.records = store.runs(limit=limit)
        options = [(self._label(r), r.run_id) for r in self.records]
        self.table = ipywidgets.HTML(self._table())
        self.picker = ipywidgets.Dropdown(options=[("choose a run…", "")] + options, layout=ipywidgets.Layout(width="95%"))
        self.trace = ipywidgets.HTML()
        self.picker.observe(self._on_pick, names="value")
        self.widget = ipywidgets.VBox([self.table, self.picker, self.trace])

    @staticmethod
    def _label(record: Any) -> str:
        return f"{record.run_id} · {record.status} · {record.task[:60]}"

    def _table(self) -> str:
        head = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>" for h in ("run", "when", "task", "model", "status", "steps", "tokens", "time"))
        rows = []
        for r in self.records:
            when = time.strftime("%m-%d %H:%M", time.localtime(r.created))
            cells = (r.run_id, when, r.task[:70], r.model, r.status, r.steps, f"{r.input_tokens + r.output_tokens:,}",
                     f"{r.duration:.1f} s" if r.duration else "-")  # fmt: skip
            rows.append("<tr>" + "".join(f"<td style='text-align:left;padding:2px 8px'>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        return f"<table class='snb-runs'>{head}{''.join(rows)}</table>"

    def select(self, run_id: str) -> None:
        """Open the trace of `run_id` (what choosing it in the dropdown does)."""
        self.picker.value = run_id

    def _on_pick(self, change: dict[str, Any]) -> None:
        run_id = change["new"]
        self.trace.value = render_html(TraceState(self.store.events(run_id))) if run_id else ""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
