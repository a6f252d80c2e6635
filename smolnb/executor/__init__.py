"""Executors: run generated code natively under a policy, in-process, in a subprocess, or in a kernel-confined sandbox.

Names load on first use (the sandbox worker imports only what it runs).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import ExecResult, Executor
    from .local import LocalExecutor
    from .policy import DEFAULT_IMPORTS, FORBIDDEN_MODULES, Policy
    from .sandbox import SandboxExecutor
    from .subprocess import SubprocessExecutor

__all__ = [
    "DEFAULT_IMPORTS",
    "ExecResult",
    "Executor",
    "FORBIDDEN_MODULES",
    "LocalExecutor",
    "Policy",
    "SandboxExecutor",
    "SubprocessExecutor",
    "make_executor",
]

_LAZY = {
    "DEFAULT_IMPORTS": ".policy",
    "FORBIDDEN_MODULES": ".policy",
    "Policy": ".policy",
    "ExecResult": ".base",
    "Executor": ".base",
    "LocalExecutor": ".local",
    "SubprocessExecutor": ".subprocess",
    "SandboxExecutor": ".sandbox",
}

# executor name -> (module, class): the registry `make_executor` looks names up in
KINDS = {
    "local": (".local", "LocalExecutor"),
    "subprocess": (".subprocess", "SubprocessExecutor"),
    "sandbox": (".sandbox", "SandboxExecutor"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def make_executor(kind: Any, policy: Any, **options: Any) -> Any:
    """An executor by name (`"local"`, `"subprocess"` or `"sandbox"`), or the one given."""
    from ..errors import UserError, did_you_mean
    from .base import Executor

    if isinstance(kind, Executor):
        return kind
    if kind not in KINDS:
        raise UserError(f"unknown executor {kind!r}.{did_you_mean(str(kind), KINDS)} Choose one of: {', '.join(KINDS)}")
    module, cls = KINDS[kind]
    return getattr(importlib.import_module(module, __name__), cls)(policy, **options)
