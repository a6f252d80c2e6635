"""`EvalBrowser`: browse an eval's samples in a notebook and open a sample's trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["EvalBrowser"]


class EvalBrowser:
    """A widget to browse an eval: pick failed samples (or all), open a sample's trace."""

    def __init__(self, out: str | Path, failed_only: bool = True) -> None:
        import ipywidgets as w

        from ..harness import load_samples
        from ..persistence import RunStore
        from .trace import TraceView

        self.out = Path(out)
        self.samples = load_samples(out)
        self.store = RunStore(self.out / "runs.db")
        self.failed = w.Checkbox(value=failed_only, description="failed only")
        self.model = w.Dropdown(options=["all", *sorted({s.model for s in self.samples})], description="model")
        self.pick = w.Select(rows=8, layout=w.Layout(width="100%"))
        self.trace = w.HTML()
        self._view = TraceView
        for control in (self.failed, self.model):
            control.observe(lambda _: self._refresh(), names="value")
        self.pick.observe(self._open, names="value")
        self.widget = w.VBox([w.HBox([self.failed, self.model]), self.pick, self.trace])
        self._refresh()

    def _refresh(self) -> None:
        chosen = [s for s in self.samples if (not self.failed.value or not s.correct) and self.model.value in ("all", s.model)]
        self.pick.options = [
            (
                f"{'ok ' if s.correct else 'FAIL'} {s.model} {s.suite}/{s.task_id} e{s.epoch}: {str(s.output)[:40]!r} "
                f"(target {s.target!r}{', ' + s.error_kind if s.error_kind else ''})",
                s.run_id,
            )
            for s in chosen
        ]

    def _open(self, change: Any) -> None:
        self.trace.value = self._view(self.store.events(change["new"]))._repr_mimebundle_()["text/html"] if change["new"] else ""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
