"""What a run did to the notebook's namespace, and how to take it back.

Before each code block runs, every existing name the block mentions is saved once per run: a
copy of its value (copy-on-write of the names it touches), or the value itself when it cannot be
copied or is too large to (then undo can rebind it but not undo a change made in place). After
the run, `changes()` says which names were created, changed and deleted; `undo()` restores them.
"""

from __future__ import annotations

import ast
import copy
import sys
import types
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NamespaceJournal"]

MAX_COPY_BYTES = 256 * 1024 * 1024  # a value larger than this is kept by reference, not copied
_ABSENT = object()
_SHARED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, types.MethodType)


@dataclass
class _Saved:
    existed: bool
    value: Any = None  # the copy (or the object itself when `copied` is False)
    original: Any = None  # the object bound before the run
    copied: bool = False
    why_not: str = ""


@dataclass
class NamespaceJournal:
    namespace: dict[str, Any]
    saved: dict[str, _Saved] = field(default_factory=dict)

    def before(self, code: str) -> None:
        """Save what `code` may touch, the first time this run touches it."""
        for name in _names(code):
            if name in self.saved or name.startswith("_"):
                continue
            value = self.namespace.get(name, _ABSENT)
            if value is _ABSENT:
                self.saved[name] = _Saved(existed=False)
            else:
                self.saved[name] = _save(value)

    def changes(self) -> dict[str, list[str]]:
        """{'created': [...], 'changed': [...], 'deleted': [...]} since the run began."""
        created, changed, deleted = [], [], []
        for name, saved in sorted(self.saved.items()):
            now = self.namespace.get(name, _ABSENT)
            if not saved.existed:
                if now is not _ABSENT:
                    created.append(name)
            elif now is _ABSENT:
                deleted.append(name)
            elif now is not saved.original or (saved.copied and not _same(saved.value, now)):
                changed.append(name)
        return {"created": created, "changed": changed, "deleted": deleted}

    def undo(self) -> tuple[list[str], list[str], list[str]]:
        """Put every saved name back: (restored, removed, not restorable with why)."""
        done = self.changes()
        restored, removed, lost = [], [], []
        for name in done["created"]:
            self.namespace.pop(name, None)
            removed.append(name)
        for name in done["changed"] + done["deleted"]:
            saved = self.saved[name]
            if saved.copied:
                self.namespace[name] = copy.deepcopy(saved.value)  # the journal keeps its own copy
                restored.append(name)
            else:
                self.namespace[name] = saved.original
                if self.namespace.get(name) is saved.original and name in done["changed"] and saved.why_not:
                    lost.append(f"{name} (rebound to its old object, but {saved.why_not}: a change made in place stays)")
                else:
                    restored.append(name)
        self.saved.clear()
        return sorted(restored), sorted(removed), lost


def _names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _save(value: Any) -> _Saved:
    if (
        isinstance(value, _SHARED)
        or value is None
        or isinstance(value, int | float | str | bytes | bool | complex | tuple | frozenset)
    ):
        return _Saved(existed=True, value=value, original=value)  # cannot change in place (or is shared code)
    size = _size(value)
    if size > MAX_COPY_BYTES:
        return _Saved(existed=True, value=value, original=value, why_not=f"it holds {size / 1e6:,.0f} MB, too much to copy")
    try:
        return _Saved(existed=True, value=copy.deepcopy(value), original=value, copied=True)
    except Exception as exc:  # noqa: BLE001 - an object that cannot be copied is kept by reference
        return _Saved(existed=True, value=value, original=value, why_not=f"it cannot be copied ({type(exc).__name__})")


def _size(value: Any) -> int:
    memory_usage = getattr(value, "memory_usage", None)
    if callable(memory_usage) and type(value).__module__.startswith("pandas"):
        try:
            used = memory_usage(deep=True)
            return int(used.sum()) if hasattr(used, "sum") else int(used)
        except Exception:  # noqa: BLE001, S110 - fall back to the shallow size
            pass
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return sys.getsizeof(value)


def _same(saved: Any, now: Any) -> bool:
    equals = getattr(saved, "equals", None)
    if callable(equals) and type(saved).__module__.startswith("pandas"):
        try:
            return bool(equals(now)) and list(getattr(saved, "columns", [])) == list(getattr(now, "columns", []))
        except Exception:  # noqa: BLE001
            return False
    if type(saved).__module__ == "numpy":
        import numpy as np

        try:
            return bool(np.array_equal(saved, now))
        except Exception:  # noqa: BLE001
            return False
    try:
        return bool(saved == now)
    except Exception:  # noqa: BLE001 - an object without a usable ==: assume it changed
        return False
