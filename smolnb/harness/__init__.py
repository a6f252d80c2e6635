"""The eval harness: task suites and scorers."""

from .scorers import SCORERS, Score, score
from .suite import Task, load_suite, suite_path

__all__ = ["SCORERS", "Score", "Task", "load_suite", "score", "suite_path"]
