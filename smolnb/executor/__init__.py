"""Executors: run generated code natively under a policy, in-process or in a subprocess."""

from __future__ import annotations

from typing import Any

from ..errors import UserError, did_you_mean
from .base import ExecResult, Executor
from .local import LocalExecutor
from .policy import DEFAULT_IMPORTS, FORBIDDEN_MODULES, Policy
from .subprocess import SubprocessExecutor

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

_KINDS = {"local": LocalExecutor, "subprocess": SubprocessExecutor}


def make_executor(kind: str | Executor, policy: Policy, **options: Any) -> Executor:
    """An executor by name (`"local"` or `"subprocess"`), or the one given."""
    if isinstance(kind, Executor):
        return kind
    if kind not in _KINDS:
        raise UserError(f"unknown executor {kind!r}.{did_you_mean(kind, _KINDS)} Choose one of: {', '.join(_KINDS)}")
    return _KINDS[kind](policy, **options)
