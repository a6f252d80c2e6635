"""The one small interface both executors share."""

from __future__ import annotations

import os
import pickle
import reprlib
import traceback
import types
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import FinalAnswer, ToolError
from ..redact import holds_secret
from .policy import Policy
from .rules import FILENAME

__all__ = [
    "ErrorKind",
    "ExecResult",
    "Executor",
    "call_provided",
    "format_exception",
    "format_syntax_error",
    "package_root",
    "pickle_variables",
    "short_repr",
    "unpickle_variables",
    "worker_pythonpath",
]

ErrorKind = Literal["syntax", "policy", "timeout", "exception", "tool", "crash"]

_repr = reprlib.Repr()
_repr.maxstring = 2000
_repr.maxother = 2000
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 50


@dataclass
class ExecResult:
    """What running one code block gave."""

    stdout: str = ""
    value_repr: str | None = None  # repr of the block's last expression, when not None
    error: str | None = None
    error_kind: ErrorKind | None = None
    is_final: bool = False
    final_value: Any = None
    final_repr: str | None = None  # the final answer's repr, rendered where the code ran
    duration: float = 0.0


def package_root() -> str:
    """The folder that holds the `smolnb` this process runs (a checkout, or site-packages)."""
    return str(Path(__file__).resolve().parents[2])


def worker_pythonpath(current: str | None = None) -> str:
    """PYTHONPATH for a worker process: this process's `smolnb` first, so the worker runs the same code.

    Without it `python -m smolnb...` finds whatever the environment installed (an editable
    install of another checkout), which may differ from the parent, or be out of the sandbox's reach.
    """
    return os.pathsep.join(p for p in (package_root(), current) if p)


def short_repr(value: Any) -> str:
    """A repr that stays readable for large values."""
    try:
        return _repr.repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break the step
        return f"<{type(value).__name__} (repr failed: {exc})>"


def pickle_variables(values: dict[str, Any], max_bytes: int) -> tuple[bytes, dict[str, str]]:
    kept: dict[str, bytes] = {}
    missing: dict[str, str] = {}
    used = 0
    for name, value in values.items():
        if isinstance(value, types.ModuleType) or getattr(value, "__smolnb_view__", False):
            continue  # modules come back with their import
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - reported by name and type
            missing[name] = f"{type(value).__name__} (cannot be pickled: {type(exc).__name__})"
            continue
        if holds_secret(data.decode("latin-1")):
            missing[name] = f"{type(value).__name__} (holds a secret: not stored; set it again after a resume)"
            continue
        if used + len(data) > max_bytes:
            missing[name] = f"{type(value).__name__} (too large: {len(data):,} bytes)"
            continue
        kept[name] = data
        used += len(data)
    return pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL), missing


def unpickle_variables(blob: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """The variables of a snapshot; ones that no longer unpickle are reported, not raised."""
    values: dict[str, Any] = {}
    failed: dict[str, str] = {}
    from .safe_pickle import loads

    for name, data in loads(blob).items():
        try:
            values[name] = loads(data)
        except Exception as exc:  # noqa: BLE001 - e.g. a class defined by code that is gone
            failed[name] = f"(cannot be restored: {type(exc).__name__}: {exc})"
    return values, failed


def call_provided(functions: dict[str, Callable[..., Any]], name: str, args: Any, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Call a tool (or managed agent) for code in another process.

    Returns `("ok", value)`, `("final", value)` when it called `final_answer`, or
    `("error", message)` for the code to get as a ToolError.
    """
    fn = functions.get(name)
    if fn is None:
        return "error", f"the tool {name!r} was removed from this agent"
    try:
        return "ok", fn(*args, **kwargs)
    except FinalAnswer as final:
        return "final", final.value
    except ToolError as exc:
        return "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - reported to the code as a ToolError
        return "error", f"{name} failed: {type(exc).__name__}: {exc}"


def format_exception(exc: BaseException, code: str) -> str:
    """A traceback trimmed to the frames of the generated code, with the failing lines."""
    lines = code.splitlines()
    parts = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename != FILENAME:
            continue
        where = f"  line {frame.lineno}, in {frame.name}"
        if frame.lineno and 0 < frame.lineno <= len(lines):
            where += f"\n    {lines[frame.lineno - 1].strip()}"
        parts.append(where)
    head = "Traceback (most recent call last):\n" + "\n".join(parts[-5:]) + "\n" if parts else ""
    return f"{head}{type(exc).__name__}: {exc}"


def format_syntax_error(exc: SyntaxError) -> str:
    pointer = ""
    if exc.text:
        caret = " " * max((exc.offset or 1) - 1, 0) + "^"
        pointer = f"\n    {exc.text.rstrip()}\n    {caret}"
    return f"SyntaxError: {exc.msg} (line {exc.lineno}){pointer}"


class Executor(ABC):
    """Runs code blocks of one run; variables persist from one block to the next."""

    policy: Policy
    timeout: float
    # Called with each piece of text the code prints, as it prints it (live views). Executors
    # that run the code in another process hand the output over when the block ends instead.
    on_output: Callable[[str], None] | None = None

    @abstractmethod
    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run `code`; never raises for errors in the code itself (they are in the result)."""

    @abstractmethod
    def set_functions(self, functions: dict[str, Callable[..., Any]]) -> None:
        """Make callables (tools, managed agents, `final_answer`) visible to the code by name."""

    @abstractmethod
    def set_variables(self, values: dict[str, Any]) -> None:
        """Bind variables in the code's namespace."""

    def variables(self) -> dict[str, Any]:
        """The code's own variables (not tools, not builtins)."""
        return {}

    def snapshot(self, max_bytes: int = 8 << 20) -> tuple[bytes, dict[str, str]]:
        """Pickle the variables that can be (within `max_bytes` in all).

        Returns the pickled dict and, for the ones left out, name -> "type (why)".
        """
        return pickle_variables(self.variables(), max_bytes)

    def close(self) -> None:  # noqa: B027 - optional hook: most executors hold nothing
        """Free what the executor holds (a process, for the subprocess executor)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
