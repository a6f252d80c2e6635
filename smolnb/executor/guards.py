"""Runtime guards the policy's AST pass calls, and safe stand-ins for parts of the stdlib.

The rules are structural: what the code did not create, it may not change (classes,
functions, modules, smolnb's own objects); what the standard library would evaluate or block
on outside the policy's sight is replaced by a version that runs inside it.
"""

from __future__ import annotations

import copy
import functools
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import PolicyError
from .iterators import _count, _cycle, _repeat, lazy_depths, range64, safe_iter, safe_range
from .rules import AGENT_MODULE, FILENAME
from .safe_queue import SAFE_QUEUE, Empty, Full, LifoQueue, PriorityQueue, Queue, SimpleQueue
from .timed_regex import _REGEX_CALLS, _timed_regex

__all__ = [
    "Empty",
    "Full",
    "LifoQueue",
    "MAX_ITEMS",
    "PriorityQueue",
    "Queue",
    "SimpleQueue",
    "agent_class",
    "agent_function",
    "checked_mul",
    "created_by_agent",
    "match_class",
    "range64",
    "safe_iter",
    "safe_range",
    "safe_type",
    "special_view",
    "writable",
]

MAX_ITEMS = 50_000_000  # a sequence built by one `*` or consumed by one builtin call
MAX_INT_BITS = 1 << 20


def agent_class(cls: Any) -> bool:
    return isinstance(cls, type) and getattr(cls, "__module__", None) in (AGENT_MODULE, "__main__")


def agent_function(fn: Any) -> bool:
    return isinstance(fn, types.FunctionType) and fn.__code__.co_filename == FILENAME


def created_by_agent(obj: Any) -> bool:
    """Was this class or function made by the agent's code (or the notebook user's)?"""
    return agent_class(obj) or agent_function(obj)


def writable(obj: Any, name: str) -> Any:
    """The object of `obj.name = ...` / `del obj.name`, if the code may change it."""
    if isinstance(obj, types.ModuleType):
        raise PolicyError(f"setting {name!r} on a module is not allowed: it would change the module for everyone")
    if isinstance(obj, type):
        if not agent_class(obj):
            raise PolicyError(
                f"changing the class {obj.__qualname__} is not allowed: your code did not define it, and the "
                "change would reach every user of it. Subclass it instead."
            )
    elif callable(obj) and isinstance(obj, types.FunctionType | types.BuiltinFunctionType | types.MethodType | functools.partial):
        if not agent_function(obj):
            raise PolicyError(f"setting {name!r} on a function your code did not define is not allowed")
    elif (type(obj).__module__ or "").startswith("smolnb"):
        raise PolicyError(f"setting {name!r} on smolnb's own {type(obj).__name__} is not allowed")
    elif SHARED.get(id(obj)) is obj:
        raise PolicyError(
            f"setting {name!r} on a {type(obj).__name__} that a module shares with the whole process is not allowed; "
            "make your own"
        )
    if name.startswith("_") and not created_by_agent(obj) and not agent_class(type(obj)):
        raise PolicyError(
            f"setting the private attribute {name!r} of a {type(obj).__name__} is not allowed "
            "(private attributes are writable only on classes your code defines)"
        )
    return obj


# -- classes: no finalizer the host would run later, unguarded ---------------------------------

_FINALIZERS = frozenset({"__del__"})


class _TypeMeta(type):
    """Makes `safe_type` answer `isinstance`/`issubclass` as `type` does."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, type)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return issubclass(sub, type)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 3 and isinstance(args[2], dict):
            refused = _FINALIZERS & set(args[2])
            if refused:
                raise PolicyError(
                    f"a class with {', '.join(sorted(refused))} is not allowed: the host would run it later, unguarded"
                )
        if cls is not safe_type:
            return super().__call__(*args, **kwargs)
        if len(args) == 1 and not kwargs:
            kind = type(args[0])
            return safe_type if kind is type or kind is _TypeMeta else kind
        return type(*args, **kwargs)


class safe_type(type, metaclass=_TypeMeta):  # noqa: N801 - stands for the builtin `type`
    """The builtin `type` for agent code.

    `type(x)` as usual; `type(name, bases, ns)` refuses finalizers; `class M(type)` makes
    metaclasses as usual.
    """


# -- pattern matching ---------------------------------------------------------------------------


def match_class(cls: Any) -> Any:
    """The class of a `case Cls(...)` pattern, if the attributes it would read are allowed.

    A class pattern reads the names in `Cls.__match_args__` from the subject; they must be
    public, a plain tuple of plain strings found in the class itself (not produced by a
    metaclass on each lookup).
    """
    if not isinstance(cls, type):
        return cls  # CPython raises its own TypeError
    for meta in type.__getattribute__(type(cls), "__mro__"):
        if meta in (type, object):
            continue
        if any(k in meta.__dict__ for k in ("__getattr__", "__getattribute__", "__match_args__")):
            raise PolicyError(f"a class pattern on {cls.__qualname__}, whose metaclass changes attribute lookup, is not allowed")
    args: Any = ()
    for klass in type.__getattribute__(cls, "__mro__"):
        if "__match_args__" in klass.__dict__:
            args = klass.__dict__["__match_args__"]
            break
    if type(args) is not tuple or any(type(a) is not str for a in args):
        raise PolicyError(f"{cls.__qualname__}.__match_args__ must be a tuple of attribute names")
    for name in args:
        if name.startswith("_"):
            raise PolicyError(f"a class pattern on {cls.__qualname__} would read the private attribute {name!r}; not allowed")
    return cls


# -- arithmetic growth --------------------------------------------------------------------------

_SEQUENCES = (str, bytes, bytearray, list, tuple)


def checked_mul(a: Any, b: Any) -> Any:
    """`a * b`, refused when it would build an int of over ~1M bits or a huge sequence."""
    ta, tb = type(a), type(b)
    if ta is float or tb is float:
        return a * b
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise PolicyError(
                f"multiplying integers of {a.bit_length():,} and {b.bit_length():,} bits is refused "
                "(the result would be too large)"
            )
    elif (ta is int and tb in _SEQUENCES) or (tb is int and ta in _SEQUENCES):
        count, seq = (a, b) if ta is int else (b, a)
        if count > 0 and len(seq) * count > MAX_ITEMS:
            raise PolicyError(f"repeating a {type(seq).__name__} of {len(seq):,} items {count:,} times is refused (too large)")
    return a * b


def _native_mul() -> Callable[[Any, Any], Any]:
    """The C `checked_mul` (floats and 64-bit ints multiply directly; the rest comes back here)."""
    try:
        from smolnb.executor import _speedups
    except ImportError:  # a source checkout that was not built: same answers, slower loops
        return checked_mul
    _speedups.install(checked_mul)
    return _speedups.checked_mul


fast_mul = _native_mul()


# -- functions that change their argument --------------------------------------------------------


def _guard_update_wrapper(real: Callable[..., Any]) -> Callable[..., Any]:
    def update_wrapper(
        wrapper: Any, wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS, updated: Any = functools.WRAPPER_UPDATES
    ) -> Any:
        if tuple(assigned) != functools.WRAPPER_ASSIGNMENTS or tuple(updated) != functools.WRAPPER_UPDATES:
            raise PolicyError("update_wrapper/wraps with other attribute names than the defaults is not allowed")
        if not created_by_agent(wrapper):
            raise PolicyError("update_wrapper/wraps on a function your code did not define is not allowed: it changes its target")
        return real(wrapper, wrapped)

    return update_wrapper


def _guard_wraps(update_wrapper: Callable[..., Any]) -> Callable[..., Any]:
    def wraps(wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS, updated: Any = functools.WRAPPER_UPDATES) -> Any:
        return functools.partial(update_wrapper, wrapped=wrapped, assigned=assigned, updated=updated)

    return wraps


def _own_class_only(real: Callable[..., Any], what: str) -> Callable[..., Any]:
    @functools.wraps(real)
    def guarded(cls: Any = None, /, **kwargs: Any) -> Any:
        if cls is None:  # the decorator called with options: @dataclass(frozen=True)
            return lambda c: guarded(c, **kwargs)
        if not created_by_agent(cls):
            raise PolicyError(f"{what} on a class your code did not define is not allowed: it changes the class it is given")
        return real(cls, **kwargs)

    return guarded


def _refuse(what: str, why: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PolicyError(f"calling {what} is not allowed: {why}")

    return refused


def _copied(value: Any) -> Any:
    """A module-level object shared by the whole process, as this policy's own copy."""
    try:
        return copy.copy(value)
    except Exception:  # noqa: BLE001 - an object that cannot be copied is not handed out
        return None


# Functions of authorized data libraries that write files, run pickles or execute code, refused
# unless the policy allows writing. Methods of their objects are checked by name on access.
DATA_WRITERS = frozenset(
    {
        "to_csv",
        "to_pickle",
        "to_parquet",
        "to_feather",
        "to_excel",
        "to_hdf",
        "to_sql",
        "to_stata",
        "to_json",
        "to_html",
        "to_latex",
        "to_markdown",
        "to_xml",
        "to_orc",
        "to_clipboard",
        "to_string",
        "tofile",
        "dump",
        "dumps",
    }
)
"""Method names refused on pandas/numpy objects when given a path or buffer (with no path,
`to_csv()`, `to_json()`, `to_string()` ... return text and stay allowed)."""

REFUSED_FUNCTIONS = {
    "numpy": {
        "save",
        "savez",
        "savez_compressed",
        "savetxt",
        "load",
        "fromfile",
        "memmap",
        "genfromtxt",
        "loadtxt",
        "ctypeslib",
        "lib",
    },
    "pandas": {
        "read_pickle",
        "to_pickle",
        "HDFStore",
        "ExcelWriter",
        "read_hdf",
        "eval",
        "read_sql",
        "read_sql_query",
        "read_sql_table",
        "read_clipboard",
    },
    "typing": {"get_type_hints", "ForwardRef"},
    "calendar": {"setfirstweekday"},  # module state for every caller: use calendar.Calendar(firstweekday=...)
}
"""Module functions refused outright: writers, pickle readers, string evaluators."""


SHARED: dict[int, Any] = {}
"""Module-level objects the views hand out (contexts, sentinels, singletons): the whole process
shares them, so the code may use them but not set their attributes."""

REBIND = object()
"""`special_view`'s answer for a method bound to an object the whole process shares."""


def special_view(module: str, key: str, value: Any) -> Any:
    """The stand-in a module view hands out for `module.key`, or `value` itself."""
    refused = REFUSED_FUNCTIONS.get(module.split(".", 1)[0])
    if refused and key in refused:
        return _refuse(f"{module}.{key}", "it writes files, reads pickles or evaluates strings outside the policy")
    if module == "functools":
        if key == "update_wrapper":
            return _guard_update_wrapper(value)
        if key == "wraps":
            return _guard_wraps(_guard_update_wrapper(functools.update_wrapper))
        if key == "total_ordering":
            return _own_class_only(value, "functools.total_ordering")
        if key == "singledispatchmethod":
            return value
    if module == "math" and key in ("factorial", "comb", "perm"):
        return _bounded_math(key, value)
    if module == "dataclasses" and key == "dataclass":
        return _own_class_only(value, "dataclasses.dataclass")
    if module == "queue" and key in SAFE_QUEUE:
        return SAFE_QUEUE[key]
    if module == "itertools" and key in ("count", "cycle", "repeat"):
        return {"count": _count, "cycle": _cycle, "repeat": _repeat}[key]
    if module == "itertools" and isinstance(value, type) and issubclass(value, Iterator):
        return lazy_depths.wrap(value)
    if module in ("re", "regex") and callable(value) and not isinstance(value, type) and key in _REGEX_CALLS:
        return _timed_regex(key, value)
    owner = getattr(value, "__self__", None) if isinstance(value, types.MethodType | types.BuiltinMethodType) else None
    if owner is not None and not isinstance(owner, type | types.ModuleType):
        return REBIND  # bound to a module-level instance: rebound by the view to its own copy
    if _shared_instance(value):
        SHARED[id(value)] = value  # handed out as is (sentinels keep their identity); writes refused
    return value


def _bounded_math(key: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """`math.factorial/comb/perm` for arguments whose result stays under the int size limit."""

    @functools.wraps(real)
    def bounded(*args: Any) -> Any:
        n = args[0] if args else 0
        if type(n) is int and n > 60_000:
            raise PolicyError(f"math.{key}({n:,}, ...) would build an integer of millions of bits; refused")
        return real(*args)

    return bounded


def _shared_instance(value: Any) -> bool:
    if isinstance(value, type | types.ModuleType | types.FunctionType | types.BuiltinFunctionType | functools.partial):
        return False
    if isinstance(value, int | float | complex | str | bytes | bool | tuple | frozenset | type(None) | range):
        return False
    if callable(value) and not hasattr(value, "__dict__"):
        return False
    return not isinstance(value, re.Pattern)
