"""Executors: run generated code natively under a policy, in-process or in a subprocess."""

from __future__ import annotations

from typing import Any

from ..errors import UserError, did_you_mean
from .base import ExecResult, Executor
from .local import LocalExecutor
from .policy import DEFAULT_IMPORTS, FORBIDDEN_MODULES, Policy
from .subprocess import SubprocessExecutor


def _sandbox(policy: Policy, **options: Any) -> Executor:
    from .sandbox import SandboxExecutor  # imports sandlock only when asked for

    return SandboxExecutor(policy, **options)


__all__ = [
    "DEFAULT_IMPORTS",
    "FORBIDDEN_MODULES",
    "ExecResult",
    "Executor",
    "LocalExecutor",
    "Policy",
    "SubprocessExecutor",
    "make_executor",
]

_KINDS: dict[str, Any] = {"local": LocalExecutor, "subprocess": SubprocessExecutor, "sandbox": _sandbox}


def make_executor(kind: str | Executor, policy: Policy, **options: Any) -> Executor:
    """An executor by name (`"local"`, `"subprocess"` or `"sandbox"`), or the one given."""
    if isinstance(kind, Executor):
        return kind
    if kind not in _KINDS:
        raise UserError(f"unknown executor {kind!r}.{did_you_mean(kind, _KINDS)} Choose one of: {', '.join(_KINDS)}")
    return _KINDS[kind](policy, **options)
