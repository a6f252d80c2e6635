"""The eval harness: task suites, scorers, evals across models (local or on Ray), reports."""

from typing import Any

from .evaluate import Sample, evaluate, load_samples, run_sample, scorer_options
from .report import Report, compare, report, wilson
from .scorers import SCORERS, Score, score
from .suite import Task, load_suite, suite_path

__all__ = [
    "EvalBrowser",
    "Report",
    "SCORERS",
    "Sample",
    "Score",
    "Task",
    "compare",
    "evaluate",
    "load_samples",
    "load_suite",
    "report",
    "run_sample",
    "score",
    "scorer_options",
    "suite_path",
    "wilson",
]


def __getattr__(name: str) -> Any:
    """`EvalBrowser` lives with the widgets (`smolnb.widgets`); it is still found here."""
    if name == "EvalBrowser":
        from ..widgets.eval_browser import EvalBrowser

        return EvalBrowser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
