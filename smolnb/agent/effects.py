"""Tool calls as recorded effects: each runs at most once across a crash and a resume.

Temporal's activities and LangGraph's pending writes are the model. A call to a tool with
side effects (the default; `@tool(side_effects=False)` marks a pure one) is written to the
run store as *started* before the tool runs, and as *done* with its result after. A resumed
run replays the model reply it had recorded, so its code makes the same calls again: each
one is matched to its record by a key (the step, the tool, its arguments, and how many
identical calls came before it in the step) and

- a call recorded *done* is answered from the record (its value, or its error), never run;
- a call recorded *started* but not done may have had its effect before the crash: it is not
  run again, and the code gets a `ToolError` saying so (the model and the trace see it);
- a call with no record runs as usual.

Pure tools run again. Managed agents and memory writes go through the same ledger.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from ..errors import ToolError
from ..events import ToolCall

__all__ = ["Effects", "pack_value", "unpack_value"]

MAX_VALUE_CHARS = 64_000


def _digest(arguments: dict[str, Any]) -> str:
    from ..executor.codec import Unsupported, encode

    parts: dict[str, Any] = {}
    for name, value in sorted(arguments.items()):
        try:
            tree, blobs = encode(value)
            parts[name] = [tree, [hashlib.sha1(bytes(b), usedforsecurity=False).hexdigest() for b in blobs]]
        except (Unsupported, TypeError, ValueError):
            parts[name] = f"<{type(value).__module__}.{type(value).__qualname__}>"
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[:16]


def pack_value(value: Any) -> Any:
    """A tool's result as JSON the store keeps, or None when it has no small, safe form."""
    from ..executor.codec import Unsupported, encode

    try:
        tree, blobs = encode(value)
    except (Unsupported, TypeError, ValueError, RecursionError):
        return None
    if blobs:
        return None
    text = json.dumps(tree, ensure_ascii=False, default=str)
    return tree if len(text) <= MAX_VALUE_CHARS else None


def unpack_value(tree: Any) -> Any:
    from ..executor.codec import decode

    return decode(tree, [])


class Effects:
    """The ledger of one run: call keys, and the records a resumed step answers from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.recorded: dict[str, ToolCall] = {}

    def new_step(self) -> None:
        with self._lock:
            self._counts.clear()

    def key(self, step: int, name: str, arguments: dict[str, Any]) -> str:
        base = f"{step}:{name}:{_digest(arguments)}"
        with self._lock:
            n = self._counts.get(base, 0)
            self._counts[base] = n + 1
        return f"{base}:{n}"

    def restore(self, events: list[Any], step: int) -> None:
        """Keep the tool-call records of `step` (the step a crash cut short), latest per key."""
        for event in events:
            if isinstance(event, ToolCall) and event.step == step and event.key:
                previous = self.recorded.get(event.key)
                if previous is None or previous.phase != "done":
                    self.recorded[event.key] = event

    def take(self, key: str) -> ToolCall | None:
        with self._lock:
            return self.recorded.pop(key, None)

    @staticmethod
    def answer(record: ToolCall) -> Any:
        """The value of a call recorded before the crash; raises what it raised, or that it may have run."""
        shown = f"{record.name}({', '.join(f'{k}={v}' for k, v in record.arguments.items())})"
        if record.phase != "done":
            raise ToolError(
                f"{shown} was started before the run stopped and may have had its effect; it is not run again. "
                "Check whether it happened before you call it again."
            )
        if record.error is not None:
            raise ToolError(record.error)
        if record.value is None and record.result not in (None, "None"):
            raise ToolError(
                f"{shown} ran before the run stopped and returned {record.result}; that value was too large to keep, "
                "and the call is not run again."
            )
        return unpack_value(record.value) if record.value is not None else None
