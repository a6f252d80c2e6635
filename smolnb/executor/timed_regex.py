"""Regular expressions for generated code, under the block's time limit.

The `regex` engine's own timeout is given the time the block has left: a catastrophic pattern stops.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..errors import PolicyError

__all__: list[str] = []


def _deadline_regex() -> Any:
    try:
        import regex
    except ImportError:  # pragma: no cover - regex ships with the base install
        return None
    return regex


_REGEX_CALLS = frozenset({"match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer", "compile"})


def _within_deadline(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(...)` of the `regex` engine, given the block's remaining time as its timeout."""
    from .deadline import remaining

    kwargs.setdefault("timeout", remaining())
    try:
        return fn(*args, **kwargs)
    except TimeoutError:
        raise PolicyError("the regular expression ran past the time limit (catastrophic backtracking?)") from None


def _timed_regex(key: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """`re.<key>` run by the `regex` engine with a timeout, so backtracking cannot outlive the limit."""
    engine = _deadline_regex()
    if engine is None:
        return real
    fn = getattr(engine, key)

    @functools.wraps(real)
    def timed(*args: Any, **kwargs: Any) -> Any:
        args = tuple(a._p if isinstance(a, _TimedPattern) else a for a in args)
        if key == "compile":
            return _TimedPattern(fn(*args, **kwargs))
        return _within_deadline(fn, *args, **kwargs)

    return timed


class _TimedPattern:
    """A compiled pattern whose searches carry the block's remaining time as a timeout."""

    __slots__ = ("_p",)

    def __init__(self, pattern: Any) -> None:
        self._p = pattern

    pattern = property(lambda self: self._p.pattern)
    flags = property(lambda self: self._p.flags)
    groups = property(lambda self: self._p.groups)
    groupindex = property(lambda self: self._p.groupindex)

    def __repr__(self) -> str:
        return f"re.compile({self._p.pattern!r})"


def _timed_method(name: str) -> Callable[..., Any]:
    def method(self: _TimedPattern, *args: Any, **kwargs: Any) -> Any:
        return _within_deadline(getattr(self._p, name), *args, **kwargs)

    method.__name__ = name
    return method


for _name in _REGEX_CALLS - {"compile"}:
    setattr(_TimedPattern, _name, _timed_method(_name))
