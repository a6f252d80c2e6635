"""Every exception smolnb raises, grouped by who must react.

- Sent back to the model as an observation: `ToolError`, `PolicyError`, `CodeTimeoutError`.
- Mistakes of the user: `UserError` (and `MissingExtraError`), with the fix in the message.
- Failures of a backend: `ModelError` (transient ones are retried first), `BackendError`.
- Control flow that generated code must not swallow: `FinalAnswer`, `ExecutionTimeout`
  derive from `BaseException`, so an `except Exception` in the model's code lets them pass.

Exceptions never log themselves.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

__all__ = [
    "BackendError",
    "CodeTimeoutError",
    "ExecutionTimeout",
    "FinalAnswer",
    "MissingExtraError",
    "ModelError",
    "PolicyError",
    "SmolnbError",
    "ToolError",
    "TransientModelError",
    "UserError",
    "did_you_mean",
    "final_answer",
]


class SmolnbError(Exception):
    """Base class of smolnb's own errors."""


class UserError(SmolnbError):
    """The caller asked for something that cannot work; the message says how to fix it."""


class MissingExtraError(UserError):
    """An optional dependency is not installed."""

    def __init__(self, extra: str, package: str, what: str) -> None:
        self.extra = extra
        self.package = package
        super().__init__(
            f"{what} needs the '{package}' package, which is not installed. Install it with: pip install 'smolnb[{extra}]'"
        )


class ModelError(SmolnbError):
    """A model call failed and retrying will not help (bad request, auth, unknown model)."""


class TransientModelError(ModelError):
    """A model call failed in a way that may pass on retry (rate limit, 5xx, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendError(SmolnbError):
    """A service smolnb relies on (a server, a store) failed or is unreachable."""


class ToolError(SmolnbError):
    """A tool failed or was called wrongly; the agent shows the message to the model."""


class PolicyError(ToolError):
    """Generated code tried something the execution policy refuses."""


class CodeTimeoutError(ToolError):
    """Generated code ran past its wall-clock limit and was stopped."""


class FinalAnswer(BaseException):
    """Raised by `final_answer(value)`; a `BaseException` so generated code cannot catch it."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


def final_answer(value: Any) -> None:
    """Give the final answer and end the run (the function agent code calls, in every executor).

    `...` is refused: it is a prompt's placeholder a small model copied (`final_answer(...)`), not an answer.
    """
    if value is Ellipsis:
        raise ValueError("final_answer(...) was given the placeholder `...`, not an answer: pass the value your code computed")
    raise FinalAnswer(value)


class ExecutionTimeout(BaseException):
    """Injected into a thread whose code ran past its limit.

    `hook` (set by the executor) runs in that thread when the exception is created, so the
    block's frames can be made to raise it again on every line (see `executor.deadline`).
    """

    hook: ClassVar[Callable[[], None] | None] = None

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        hook = ExecutionTimeout.hook
        if hook is not None:
            hook()


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean X?' for the closest choice, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
