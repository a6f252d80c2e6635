"""The execution policy's runtime guards: reachable from generated code only through its builtins dict."""

from __future__ import annotations

import builtins
import os
import string
import time
import types
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..errors import ExecutionTimeout, PolicyError
from . import guards
from .rules import _FMT_ATTRS, _MAX_INT_BITS, AGENT_MODULE, FORBIDDEN_BUILTINS, FRAME_ATTRS, SAFE_PRIVATE, _attr_rule

__all__ = [
    "PolicyAbort",
    "checked_handler",
    "guarded_format",
    "private_getattr",
    "re_split_field",
    "safe_delattr",
    "safe_getattr",
    "safe_hasattr",
    "safe_lshift",
    "safe_pow",
    "safe_setattr",
]


def _refused(what: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PolicyError(f"calling {what} is not allowed by the execution policy")

    refused.__name__ = what.rsplit(".", 1)[-1].split(" ")[0]
    return refused


@lru_cache(maxsize=1)
def _forbidden_callables() -> frozenset[int]:
    """Ids of callables no module view may hand out, whatever module re-exports them."""
    items: list[Any] = [getattr(builtins, n) for n in FORBIDDEN_BUILTINS if hasattr(builtins, n)]
    items.append(builtins.open)
    items += [
        getattr(os, n)
        for n in dir(os)
        if n in {"system", "popen", "fork", "forkpty", "kill", "killpg", "putenv", "unsetenv", "remove", "unlink", "rmdir"}
        or n.startswith(("exec", "spawn", "posix_spawn"))
    ]
    return frozenset(id(x) for x in items)


class _SafeFormatter:
    """`string.Formatter`, written over the policy's own attribute lookup.

    It does not derive from the real `string.Formatter` (whose `get_field` walks attributes
    unchecked and would be one `type.mro()` away), and a subclass that overrides a method
    still reaches attributes only through the guarded `getattr`.
    """

    def format(self, format_string: str, /, *args: Any, **kwargs: Any) -> str:
        return self.vformat(format_string, args, kwargs)

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        used: set[Any] = set()
        result = self._vformat(format_string, args, kwargs, used, 2)
        self.check_unused_args(used, args, kwargs)
        return result

    def _vformat(self, format_string: str, args: Any, kwargs: Any, used: set[Any], depth: int) -> str:
        if depth < 0:
            raise ValueError("Max string recursion exceeded")
        out = []
        auto = 0
        for literal, field, spec, conversion in self.parse(format_string):
            out.append(literal)
            if field is None:
                continue
            if field == "":
                field, auto = str(auto), auto + 1
            elif field.isdigit():
                auto = -1
            obj, key = self.get_field(field, args, kwargs)
            used.add(key)
            obj = self.convert_field(obj, conversion)
            spec = self._vformat(spec or "", args, kwargs, used, depth - 1) if spec else ""
            out.append(self.format_field(obj, spec))
        return "".join(out)

    def parse(self, format_string: str) -> Any:
        return string.Formatter().parse(format_string)

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if _walks_private(field_name):
            raise PolicyError(f"format field {{{field_name}}} walks into a private attribute; this is not allowed")
        first, *rest = re_split_field(field_name)
        obj = self.get_value(int(first) if first.isdigit() else first, args, kwargs)
        for is_attr, part in rest:
            obj = safe_getattr(obj, part) if is_attr else obj[int(part) if part.isdigit() else part]
        return obj, first

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return args[key] if isinstance(key, int) else kwargs[key]

    def check_unused_args(self, used_args: Any, args: Any, kwargs: Any) -> None:
        return None

    def format_field(self, value: Any, format_spec: str) -> str:
        return format(value, format_spec)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is None:
            return value
        if conversion == "s":
            return str(value)
        if conversion == "r":
            return repr(value)
        if conversion == "a":
            return ascii(value)
        raise ValueError(f"Unknown conversion specifier {conversion}")


def re_split_field(field: str) -> list[Any]:
    """'a.b[0].c' -> ['a', (True, 'b'), (False, '0'), (True, 'c')]."""
    import re

    head = re.match(r"[^.\[]*", field)
    first = head.group(0) if head else ""
    parts: list[Any] = [first]
    for attr, index in re.findall(r"\.([^.\[]+)|\[([^\]]+)\]", field[len(first) :]):
        parts.append((True, attr) if attr else (False, index))
    return parts


def _defined_by_agent(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return getattr(cls, "__module__", None) in (AGENT_MODULE, "__main__")


def _no_module(value: Any, name: str) -> Any:
    if isinstance(value, types.ModuleType) and not value.__dict__.get("__smolnb_view__"):
        raise PolicyError(f"attribute {name!r} is the module {value.__name__!r}; reach modules through import")
    return value


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"attribute name must be a string, not {type(name).__name__}")
    rule = _attr_rule(name)
    if rule:
        raise PolicyError(rule)
    return name


def private_getattr(obj: Any, name: str) -> Any:
    """`obj._name`: allowed on objects of classes defined by the generated code itself."""
    if name in SAFE_PRIVATE or _defined_by_agent(obj):
        return _no_module(getattr(obj, name), name)
    raise PolicyError(
        f"access to the private attribute {name!r} of a {type(obj).__name__} is not allowed "
        f"(private attributes are readable only on classes your code defines)"
    )


def safe_getattr(obj: Any, name: str, *default: Any) -> Any:
    _check_name(name)
    if name.startswith("_") and not name.startswith("__"):
        try:
            return private_getattr(obj, name)
        except AttributeError:
            if default:
                return default[0]
            raise
    if name in _FMT_ATTRS:
        return guarded_format(obj, name)
    return _no_module(getattr(obj, name, *default), name)


def safe_hasattr(obj: Any, name: str) -> bool:
    try:
        safe_getattr(obj, name)
    except AttributeError:
        return False
    return True


def safe_setattr(obj: Any, name: str, value: Any) -> None:
    setattr(guards.writable(obj, _check_name(name)), name, value)


def safe_delattr(obj: Any, name: str) -> None:
    delattr(guards.writable(obj, _check_name(name)), name)


def _check_format_string(fmt: str) -> None:
    """Refuse a format string whose fields walk into private attributes.

    A string that passed is remembered (a `.format` in a loop parsed it on every call: 2.9x `exec`).
    """
    if type(fmt) is str and len(fmt) <= 1024:
        _checked_format_string(fmt)
    else:
        _parse_format_string(fmt)


@lru_cache(maxsize=1024)
def _checked_format_string(fmt: str) -> None:
    _parse_format_string(fmt)  # raises for a refused string, which is then not remembered


def _parse_format_string(fmt: str) -> None:
    for _literal, field, spec, _conv in string.Formatter().parse(fmt):
        if field and _walks_private(field):
            raise PolicyError(f"format field {{{field}}} walks into a private attribute; this is not allowed")
        if spec and "{" in spec:
            _check_format_string(spec)


def _walks_private(field: str) -> bool:
    rest = field[len(field.split(".")[0].split("[")[0]) :]
    parts = [p for chunk in rest.split(".") for p in chunk.replace("]", "").split("[")]
    return any(p.strip().startswith("_") or p.strip() in FRAME_ATTRS for p in parts if p)


def guarded_format(obj: Any, name: str) -> Any:
    """`obj.format` / `obj.format_map` with the format string checked for attribute walks."""
    method = getattr(obj, name)
    if isinstance(obj, str):
        _check_format_string(obj)
        return method

    def checked(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], str):
            _check_format_string(args[0])
        return method(*args, **kwargs)

    return checked


def checked_handler(kind: Any) -> Any:
    """The class (or tuple) of an `except` clause, refused if it would catch a timeout.

    A tuple is read as CPython reads it (its real items, nested tuples too), not through a
    subclass's `__iter__`; the handler gets a plain copy.
    """
    if isinstance(kind, tuple):
        items = tuple(checked_handler(tuple.__getitem__(kind, i)) for i in range(tuple.__len__(kind)))
        return items
    if isinstance(kind, type) and (
        issubclass(ExecutionTimeout, kind) or issubclass(KeyboardInterrupt, kind) or issubclass(PolicyAbort, kind)
    ):
        raise PolicyAbort(f"catching {kind.__name__} is not allowed; catch Exception instead")
    return kind


class PolicyAbort(BaseException):
    """A refusal that generated code cannot catch (raised where catching would defeat a limit)."""


def safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None and type(base) is int and type(exp) is int and exp > 0 and abs(base) > 1:  # noqa: SIM102 - cheap test first
        if exp * base.bit_length() > _MAX_INT_BITS:
            raise PolicyError(f"{base} ** {exp} would be an integer of about {exp * base.bit_length():,} bits; refused")
    if mod is not None and type(exp) is int and type(mod) is int and exp.bit_length() * mod.bit_length() > 1 << 28:
        raise PolicyError(
            f"pow() with a {exp.bit_length():,}-bit exponent and a {mod.bit_length():,}-bit modulus would run too long; refused"
        )
    return pow(base, exp) if mod is None else pow(base, exp, mod)


def safe_lshift(value: Any, shift: Any) -> Any:
    if type(value) is int and type(shift) is int and shift > _MAX_INT_BITS:
        raise PolicyError(f"shifting by {shift:,} bits is refused (the result would be too large)")
    return value << shift


def _interruptible_sleep(seconds: float) -> None:
    """`time.sleep` in short slices, so a timeout or an interrupt lands promptly."""
    end = time.monotonic() + float(seconds)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def _guarded_operator(factory: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*names: Any) -> Any:
        for n in names:
            for part in str(n).split("."):
                if part.startswith("_") or part in FRAME_ATTRS:
                    raise PolicyError(f"operator.{factory.__name__}({n!r}) walks into a private attribute")
        return factory(*names)

    return guarded
