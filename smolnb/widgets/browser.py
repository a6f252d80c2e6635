"""The run browser: stored runs in a table you can search, filter and sort; choosing one opens its trace."""

from __future__ import annotations

import html
import time
from typing import Any

from .render import TraceState, render_html

__all__ = ["RunBrowser"]

SORTS = {
    "newest first": (lambda r: r.created, True),
    "oldest first": (lambda r: r.created, False),
    "longest first": (lambda r: r.duration or 0.0, True),
    "most tokens first": (lambda r: r.input_tokens + r.output_tokens, True),
}


class RunBrowser:
    """Runs of a store: search the tasks, filter by status and model, sort.

    Each run shows id and time, task, model, status, steps, tokens, duration; the chosen run's trace
    shows below.
    """

    def __init__(self, store: Any, limit: int = 20) -> None:
        import ipywidgets

        self.store = store
        self.limit = limit
        self.records = store.runs(limit=max(limit, 500))  # what the filters choose from
        statuses = sorted({r.status for r in self.records})
        models = sorted({r.model for r in self.records})
        self.search = ipywidgets.Text(placeholder="search the tasks", layout=ipywidgets.Layout(width="30%"))
        self.status = ipywidgets.Dropdown(
            options=[("any status", "")] + [(s, s) for s in statuses], layout=ipywidgets.Layout(width="18%")
        )
        self.model = ipywidgets.Dropdown(
            options=[("any model", "")] + [(m, m) for m in models], layout=ipywidgets.Layout(width="25%")
        )
        self.sort = ipywidgets.Dropdown(options=list(SORTS), layout=ipywidgets.Layout(width="20%"))
        self.table = ipywidgets.HTML()
        self.picker = ipywidgets.Dropdown(layout=ipywidgets.Layout(width="95%"))
        self.trace = ipywidgets.HTML()
        for control in (self.search, self.status, self.model, self.sort):
            control.observe(lambda _change: self.refresh(), names="value")
        self.picker.observe(self._on_pick, names="value")
        self.widget = ipywidgets.VBox(
            [ipywidgets.HBox([self.search, self.status, self.model, self.sort]), self.table, self.picker, self.trace]
        )
        self.refresh()

    def shown(self) -> list[Any]:
        """The runs the search, filters and sort choose (at most `limit`)."""
        words = self.search.value.strip().casefold()
        chosen = [
            r
            for r in self.records
            if (not words or words in r.task.casefold() or words in r.run_id)
            and (not self.status.value or r.status == self.status.value)
            and (not self.model.value or r.model == self.model.value)
        ]
        key, newest = SORTS[self.sort.value]
        return sorted(chosen, key=key, reverse=newest)[: self.limit]

    def refresh(self) -> None:
        shown = self.shown()
        self.table.value = self._table(shown)
        self.picker.options = [("choose a run…", "")] + [(self._label(r), r.run_id) for r in shown]

    @staticmethod
    def _label(record: Any) -> str:
        when = time.strftime("%m-%d %H:%M", time.localtime(record.created))
        return f"{record.run_id} · {when} · {record.status} · {record.task[:60]}"

    @staticmethod
    def _table(records: list[Any]) -> str:
        head = "".join(
            f"<th style='text-align:left;padding:2px 8px'>{h}</th>"
            for h in ("run", "when", "task", "model", "status", "steps", "tokens", "time")
        )
        rows = []
        for r in records:
            when = time.strftime("%m-%d %H:%M", time.localtime(r.created))
            cells = (
                r.run_id,
                when,
                r.task[:70],
                r.model,
                r.status,
                r.steps,
                f"{r.input_tokens + r.output_tokens:,}",
                f"{r.duration:.1f} s" if r.duration else "-",
            )
            rows.append(
                "<tr>"
                + "".join(
                    f"<td style='text-align:left;padding:2px 8px;white-space:nowrap'>{html.escape(str(c))}</td>" for c in cells
                )
                + "</tr>"
            )
        empty = "" if rows else "<p>no run matches</p>"
        return f"<table class='snb-runs'>{head}{''.join(rows)}</table>{empty}"

    def select(self, run_id: str) -> None:
        """Open the trace of `run_id` (what choosing it in the dropdown does)."""
        self.picker.value = run_id

    def _on_pick(self, change: dict[str, Any]) -> None:
        run_id = change["new"]
        self.trace.value = render_html(TraceState(self.store.events(run_id))) if run_id else ""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
