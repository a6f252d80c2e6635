"""Iterators for generated code: endless ones a consumer cannot hang on, and ranges past 64 bits.

Also the depth of lazy C iterators: a deep chain of map/filter/zip segfaults when consumed.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import PolicyError

__all__ = ["lazy_depths", "range64", "safe_iter", "safe_range"]

# -- consumers of endless iterators --------------------------------------------------------------


def _count(start: Any = 0, step: Any = 1) -> Iterator[Any]:
    n = start
    while True:
        yield n
        n += step


def _cycle(iterable: Iterable[Any]) -> Iterator[Any]:
    saved = []
    for item in iterable:
        yield item
        saved.append(item)
    while saved:
        yield from saved


def _repeat(obj: Any, times: int | None = None) -> Iterator[Any]:
    if times is not None:
        return itertools.repeat(obj, times)  # finite: C speed
    return _repeat_forever(obj)


def _repeat_forever(obj: Any) -> Iterator[Any]:
    while True:
        yield obj


def safe_iter(obj: Any, *sentinel: Any) -> Iterator[Any]:
    """`iter(x)`, and `iter(callable, sentinel)` as a generator (C would loop out of reach)."""
    if not sentinel:
        return iter(obj)
    (stop,) = sentinel
    return _call_until(obj, stop)


def _call_until(fn: Callable[[], Any], stop: Any) -> Iterator[Any]:
    while True:
        value = fn()
        if value == stop:
            return
        yield value


_real_range = range


def safe_range(*args: Any) -> Any:
    """`range`, but one of over 10^8 items iterates in Python, where a time limit can stop it."""
    r = _real_range(*args)
    if len(r) > 100_000_000:
        return _LongRange(r)
    return r


def range64(*args: Any) -> Any:
    """`range` for a loop whose variable the policy treats as a small int: 64-bit bounds."""
    for a in args:
        if type(a) is int and a.bit_length() > 63:
            raise PolicyError("range() with bounds over 64 bits is not allowed in a for loop")
    return safe_range(*args)


class _LongRange:
    """A long range whose iteration a time limit can interrupt (C loops over `range` cannot be)."""

    __slots__ = ("r",)

    def __init__(self, r: range) -> None:
        self.r = r

    def __iter__(self) -> Iterator[int]:
        start, step = self.r.start, self.r.step
        for i in _count(0):
            if i >= len(self.r):
                return
            yield start + i * step

    def __len__(self) -> int:
        return len(self.r)

    def __getitem__(self, i: Any) -> Any:
        value = self.r[i]
        return _LongRange(value) if isinstance(value, range) else value

    def __contains__(self, x: Any) -> bool:
        return x in self.r

    def __reversed__(self) -> Iterator[int]:
        return iter(_LongRange(self.r[::-1]))

    def __repr__(self) -> str:
        return repr(self.r)

    def __eq__(self, other: Any) -> bool:
        return self.r == (other.r if isinstance(other, _LongRange) else other)

    def __hash__(self) -> int:
        return hash(self.r)

    start = property(lambda self: self.r.start)
    stop = property(lambda self: self.r.stop)
    step = property(lambda self: self.r.step)

    def index(self, x: int) -> int:
        return self.r.index(x)

    def count(self, x: int) -> int:
        return self.r.count(x)


# -- nesting of lazy C iterators (a deep chain of map/filter/zip segfaults when consumed) -------

_MAX_LAZY_DEPTH = 2000


class _Depths:
    """How deep each lazy iterator a block made is nested (cleared when a block ends)."""

    def __init__(self) -> None:
        self.depth: dict[int, tuple[Any, int]] = {}

    def clear(self) -> None:
        self.depth.clear()

    def wrap(self, factory: Callable[..., Any]) -> Callable[..., Any]:
        depths = self.depth

        @functools.wraps(factory)
        def nested(*args: Any, **kwargs: Any) -> Any:
            deepest = 0
            for arg in args:
                seen = depths.get(id(arg))
                if seen is not None and seen[0] is arg:
                    deepest = max(deepest, seen[1])
            if deepest >= _MAX_LAZY_DEPTH:
                raise PolicyError(
                    f"{factory.__name__}() nested over {_MAX_LAZY_DEPTH:,} deep is refused (it would crash the interpreter)"
                )
            value = factory(*args, **kwargs)
            if len(depths) > 200_000:
                depths.clear()
            depths[id(value)] = (value, deepest + 1)
            return value

        return nested


_LAZY: set[type] = {map, filter, zip, enumerate, reversed}
lazy_depths = _Depths()
