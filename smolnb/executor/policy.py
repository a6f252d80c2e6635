"""The execution policy: what generated code may import, call and touch.

Code runs natively (CPython bytecode), so the policy works in two places:

- Before running, on the AST: imports outside the authorized set, forbidden builtins
  (`exec`, `eval`, `compile`, `globals`, ...), dunder and frame attributes
  (`__class__`, `__globals__`, `gi_frame`, ...) and dunder names (`__builtins__`) are refused
  with a message that names the rule. A few spots are rewritten to call runtime guards.
- At run time: the code sees a reduced builtins dict; `import` goes through a guarded
  `__import__` that hands out read-only copies of modules whose sub-modules and forbidden
  functions are checked on access; `getattr` and friends refuse private names; private
  attributes are readable only on objects of classes the code defined itself; `str.format`
  field walks, huge powers and shifts, and files opened for writing are refused.

Attribute access on ordinary objects stays a plain CPython attribute load, which is why
the code runs at native speed.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import os
import string
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from ..errors import ExecutionTimeout, PolicyError, UserError
from . import guards

__all__ = [
    "AGENT_MODULE",
    "DEFAULT_IMPORTS",
    "FORBIDDEN_MODULES",
    "Policy",
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

AGENT_MODULE = "__smolnb_agent__"
"""`__name__` of the namespace generated code runs in; classes it defines carry it."""

FILENAME = "<agent-code>"

DEFAULT_IMPORTS = frozenset(
    {
        "bisect",
        "calendar",
        "collections",
        "datetime",
        "decimal",
        "fractions",
        "functools",
        "heapq",
        "itertools",
        "json",
        "math",
        "queue",
        "random",
        "re",
        "statistics",
        "string",
        "textwrap",
        "time",
        "unicodedata",
    }
)

FORBIDDEN_MODULES = frozenset(
    {
        "_thread",
        "asyncio",
        "bdb",
        "builtins",
        "code",
        "codeop",
        "concurrent",
        "cProfile",
        "ctypes",
        "dbm",
        "doctest",
        "faulthandler",
        "ftplib",
        "gc",
        "http",
        "importlib",
        "inspect",
        "io",
        "marshal",
        "mmap",
        "multiprocessing",
        "nt",
        "os",
        "pathlib",
        "pdb",
        "pickle",
        "pkgutil",
        "platform",
        "posix",
        "posixpath",
        "profile",
        "pty",
        "pydoc",
        "resource",
        "runpy",
        "shelve",
        "shutil",
        "signal",
        "site",
        "smtplib",
        "socket",
        "sqlite3",
        "subprocess",
        "sys",
        "sysconfig",
        "tempfile",
        "threading",
        "timeit",
        "trace",
        "types",
        "unittest",
        "urllib",
        "webbrowser",
        "zipimport",
        "_posixsubprocess",
        "_io",
        "_ctypes",
        "_pickle",
        "_signal",
        "_socket",
        "_sqlite3",
        "_multiprocessing",
        "_imp",
        "zipfile",
        "tarfile",
        "logging",
        "ensurepip",
        "venv",
        "distutils",
        "setuptools",
        "pip",
        "atexit",
        "copyreg",
        "imp",
        "select",
        "selectors",
        "fcntl",
        "termios",
        "tty",
        "pwd",
        "grp",
        "socketserver",
        "ssl",
        "xmlrpc",
        "poplib",
        "imaplib",
        "nntplib",
        "telnetlib",
        "mailbox",
        "wsgiref",
        "gzip",
        "bz2",
        "lzma",
        "codecs",
        "fileinput",
        "wave",
        "aifc",
        "sunau",
        "binhex",
        "uu",
        "py_compile",
        "compileall",
        "zipapp",
        "pstats",
        "tracemalloc",
        "readline",
        "rlcompleter",
        "weakref",
        "contextvars",
        "ipykernel",
        "IPython",
        "jupyter_client",
        "smolnb",
        "numpy.f2py",
        "numpy.distutils",
        "numpy.ctypeslib",
        "numpy.testing",
        "pandas.io.pickle",
        "pandas.io.pytables",
        "pandas.io.sql",
        "pandas.io.clipboards",
        "pandas.io.clipboard",
    }
)
"""Modules that open a way around the policy (files, processes, frames, raw memory).
`os.path` alone may still be authorized by name."""

SAFE_SUBMODULES = frozenset({"os.path"})

FORBIDDEN_BUILTINS = frozenset(
    {
        "__import__",
        "breakpoint",
        "compile",
        "copyright",
        "credits",
        "eval",
        "exec",
        "exit",
        "globals",
        "help",
        "input",
        "license",
        "locals",
        "memoryview",
        "quit",
        "vars",
    }
)

SAFE_DUNDERS = frozenset({"__init__", "__name__", "__qualname__", "__doc__", "__version__"})
SAFE_PRIVATE = frozenset({"_asdict", "_replace", "_fields", "_make", "_field_defaults"})
FRAME_ATTRS = frozenset(
    {
        "ag_await",
        "ag_code",
        "ag_frame",
        "co_code",
        "cr_await",
        "cr_code",
        "cr_frame",
        "ctypes",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "func_globals",
        "gi_code",
        "gi_frame",
        "gi_yieldfrom",
        "tb_frame",
        "tb_next",
        "mro",
    }
)

_MAX_INT_BITS = 1 << 20  # a power or shift that would make an int of more than ~1M bits is refused
_FMT_ATTRS = frozenset({"format", "format_map"})


def _attr_rule(name: str) -> str | None:
    """Why reading attribute `name` is refused outright, or None."""
    if name.startswith("__") and name not in SAFE_DUNDERS:
        return f"access to the dunder attribute {name!r} is not allowed"
    if name in FRAME_ATTRS:
        return f"access to the attribute {name!r} (frames, code objects, raw memory) is not allowed"
    return None


def _module_root(name: str) -> str:
    return name.split(".", 1)[0]


class Policy:
    """What generated code may do.

    Args:
        authorized_imports: modules added to `DEFAULT_IMPORTS`. `"pkg"` also allows its
            sub-modules; `"*"` allows everything but `FORBIDDEN_MODULES`.
        allow_write: let `open` write files (reading is always allowed).
    """

    def __init__(self, authorized_imports: Iterable[str] = (), *, allow_write: bool = False) -> None:
        extra = set(authorized_imports)
        for name in extra:
            if (
                name != "*"
                and (name in FORBIDDEN_MODULES or _module_root(name) in FORBIDDEN_MODULES)
                and name not in SAFE_SUBMODULES
            ):
                raise UserError(
                    f"cannot authorize {name!r}: it opens a way around the execution policy "
                    f"(files, processes or interpreter internals). Give the agent a tool that does "
                    f"the one thing it needs instead."
                )
        self.authorized = frozenset(DEFAULT_IMPORTS | extra)
        self.allow_write = allow_write
        self._modules: dict[str, types.ModuleType] = {}
        self._copies: dict[int, tuple[Any, Any]] = {}
        self.builtins = self._make_builtins()

    def authorize(self, modules: set[str] | frozenset[str]) -> None:
        """Let code import `modules` too (those a policy always refuses stay refused)."""
        allowed = {m for m in modules if not (m in FORBIDDEN_MODULES or _module_root(m) in FORBIDDEN_MODULES)}
        if not allowed <= self.authorized:
            self.authorized = frozenset(self.authorized | allowed)

    # -- configuration ------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """Plain data to rebuild this policy in another process."""
        return {"authorized_imports": sorted(self.authorized - DEFAULT_IMPORTS), "allow_write": self.allow_write}

    def is_allowed_module(self, name: str) -> bool:
        if name in SAFE_SUBMODULES and name in self.authorized:
            return True
        parts = name.split(".")
        if any(p.startswith("_") for p in parts):  # C internals (_xxsubinterpreters, _io, ...)
            return False
        if any(".".join(parts[: i + 1]) in FORBIDDEN_MODULES for i in range(len(parts))):
            return False
        if "*" in self.authorized:
            return True
        return any(".".join(parts[: i + 1]) in self.authorized for i in range(len(parts)))

    def _refuse_import(self, name: str) -> PolicyError:
        shown = ", ".join(sorted(self.authorized))
        return PolicyError(
            f"import of {name!r} is not allowed. Authorized imports: {shown}. "
            f"(The user can add modules with authorized_imports=[...].)"
        )

    # -- compile time -------------------------------------------------------------------------

    def compile(self, code: str, *, provided: frozenset[str] = frozenset()) -> types.CodeType:
        """Check `code` against the policy and compile it; raises `PolicyError` or `SyntaxError`.

        Top-level functions the code defines under a `provided` name (small models like to
        write their own `final_answer`) are dropped, so calls reach the real one.
        """
        with _AST_LOCK:
            tree = ast.parse(code, filename=FILENAME, mode="exec")
        if provided:
            tree.body = [
                n for n in tree.body if not (isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name in provided)
            ]
        tree = _Guard(self, tree).visit(tree)
        body = tree.body
        if body and isinstance(body[-1], ast.Expr):
            last = body[-1]
            body[-1] = ast.copy_location(ast.Assign(targets=[ast.Name("__snb_last__", ast.Store())], value=last.value), last)
        ast.fix_missing_locations(tree)
        with _AST_LOCK:
            return compile(tree, FILENAME, "exec", dont_inherit=True)  # not our `from __future__ import annotations`

    # -- run time -----------------------------------------------------------------------------

    def safe_import(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: Any = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level:
            raise PolicyError("relative imports are not allowed")
        if type(fromlist) is list:
            # CPython's C-level PyImport_Import (a library's lazy import, e.g. numpy's
            # `arr.sum()`) passes a list; an import statement passes a tuple or None, and those
            # were checked when the code was compiled. C code gets the real module.
            return importlib.import_module(name)
        if not self.is_allowed_module(name):
            raise self._refuse_import(name)
        importlib.import_module(name)
        if fromlist:
            return self.module(name)
        return self.module(_module_root(name)) if self.is_allowed_module(_module_root(name)) else self.module(name)

    def module(self, name: str) -> types.ModuleType:
        """A read-only view of module `name`: public names only, sub-modules checked on access."""
        cached = self._modules.get(name)
        if cached is not None:
            return cached
        real = sys.modules.get(name) or importlib.import_module(name)
        view = types.ModuleType(name, getattr(real, "__doc__", None))
        namespace = view.__dict__
        for key, value in list(vars(real).items()):
            if key.startswith("_") or isinstance(value, types.ModuleType):
                continue
            namespace[key] = self._guard_value(name, key, value)
        if name == "time":
            namespace["sleep"] = _interruptible_sleep
        elif name == "string":
            namespace["Formatter"] = _SafeFormatter
        policy = self

        def __getattr__(attr: str) -> Any:  # noqa: N807 - PEP 562 module hook
            rule = _attr_rule(attr)
            if rule or (attr.startswith("_") and attr not in SAFE_PRIVATE):
                raise PolicyError(rule or f"access to the private attribute {name}.{attr} is not allowed")
            value = getattr(real, attr, _MISSING)
            if value is _MISSING:
                try:
                    value = importlib.import_module(f"{name}.{attr}") if policy.is_allowed_module(f"{name}.{attr}") else _MISSING
                except ImportError:
                    value = _MISSING
            if value is _MISSING:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
            if isinstance(value, types.ModuleType):
                if not policy.is_allowed_module(value.__name__):
                    raise PolicyError(f"{name}.{attr} is the module {value.__name__!r}, which is not an authorized import")
                value = policy.module(value.__name__)
            else:
                value = policy._guard_value(name, attr, value)
            namespace[attr] = value
            return value

        # The hook resolves sub-modules and names a module computes lazily. A module with neither
        # gets none: on CPython 3.11 a module `__getattr__` turns off the attribute cache, and
        # `math.sqrt` in a loop would pay a dictionary walk each time.
        if hasattr(real, "__path__") or "__getattr__" in vars(real):
            namespace["__getattr__"] = __getattr__
        namespace["__smolnb_view__"] = True
        self._modules[name] = view
        return view

    def _guard_value(self, module: str, key: str, value: Any) -> Any:
        if id(value) in _forbidden_callables():
            return _refused(f"{module}.{key}")
        special = guards.special_view(module, key, value)
        if special is guards.REBIND:  # a method bound to a module-level instance: bind it to this policy's copy
            owner = value.__self__
            copied = self._copies.get(id(owner))
            if copied is None:
                copied = self._copies[id(owner)] = (owner, guards._copied(owner))
            if copied[1] is None:
                return _refused(f"{module}.{key} (it changes state the whole process shares)")
            return getattr(copied[1], value.__name__)
        if special is not value:
            return special
        owner = getattr(value, "__module__", None)
        if (
            callable(value)
            and isinstance(owner, str)
            and not isinstance(value, type)
            and (owner in FORBIDDEN_MODULES or _module_root(owner) in FORBIDDEN_MODULES)
            and _module_root(owner) not in ("builtins",)
        ):
            return _refused(f"{module}.{key} (from {owner})")
        if module == "operator" and key in ("attrgetter", "methodcaller"):
            return _guarded_operator(value)
        return value

    def _make_builtins(self) -> dict[str, Any]:
        safe = {k: v for k, v in vars(builtins).items() if k not in FORBIDDEN_BUILTINS and not k.startswith("_")}
        safe.update(
            {
                "__build_class__": builtins.__build_class__,
                "__import__": self.safe_import,
                "__name__": AGENT_MODULE,
                "getattr": self._getattr,
                "hasattr": safe_hasattr,
                "setattr": safe_setattr,
                "delattr": safe_delattr,
                "open": self._safe_open,
                "pow": safe_pow,
                "__snb_getattr__": private_getattr,
                "__snb_fmt__": guarded_format,
                "__snb_pow__": safe_pow,
                "__snb_exc__": checked_handler,
                "__snb_lshift__": safe_lshift,
                "__snb_w__": guards.writable,
                "__snb_match__": guards.match_class,
                "__snb_mul__": guards.fast_mul,
                "__snb_data__": self._data_method,
                "iter": guards.safe_iter,
                "type": guards.safe_type,
                "range": guards.safe_range,
                "__snb_range64__": guards.range64,
                **{f.__name__: guards.lazy_depths.wrap(f) for f in (map, filter, zip, enumerate, reversed)},
            }
        )
        return safe

    def _getattr(self, obj: Any, name: str, *default: Any) -> Any:
        """`getattr`, with the data-library writers checked as `obj.to_csv` is."""
        if name in guards.DATA_WRITERS and not self.allow_write and isinstance(name, str):
            try:
                return self._data_method(obj, name)
            except AttributeError:
                if default:
                    return default[0]
                raise
        return safe_getattr(obj, name, *default)

    def _data_method(self, obj: Any, name: str) -> Any:
        """`obj.to_csv` and friends: on pandas/numpy objects, refused with a path or buffer."""
        method = getattr(obj, name)
        owner = getattr(obj, "__module__", None) if isinstance(obj, type) else type(obj).__module__
        if self.allow_write or not isinstance(owner, str) or _module_root(owner) not in ("pandas", "numpy"):
            return method

        def checked(*args: Any, **kwargs: Any) -> Any:
            if (
                args
                or name in ("tofile", "to_sql", "to_clipboard", "to_pickle", "dump")
                or any(
                    k in kwargs and kwargs[k] is not None
                    for k in ("path", "path_or_buf", "buf", "excel_writer", "fname", "file", "con")
                )
            ):
                raise PolicyError(
                    f"{type(obj).__name__}.{name}(...) with a path or buffer writes a file; files may be opened for reading only"
                )
            return method(*args, **kwargs)

        return checked

    def _safe_open(self, file: Any, mode: Any = "r", *args: Any, **kwargs: Any) -> Any:
        if type(mode) is not str:  # a str subclass could answer `"w" in mode` as it likes
            raise PolicyError("open(): the mode must be a plain string such as 'r'")
        if not self.allow_write and any(c in mode for c in "wax+"):
            raise PolicyError(f"open(..., mode={mode!r}) is not allowed: files may be opened for reading only")
        if isinstance(file, int) or not isinstance(file, str | bytes | os.PathLike):
            raise PolicyError("open() takes a path; a file descriptor or another object is not allowed")
        if len(args) > 4 or "opener" in kwargs or "closefd" in kwargs:
            raise PolicyError("open() with an opener or closefd is not allowed")
        path = os.path.realpath(os.fsdecode(os.fspath(file)))
        if path.split(os.sep)[1:2] in (["proc"], ["sys"], ["dev"]):
            raise PolicyError(f"reading {path} is not allowed (process and device files hold the kernel's secrets)")
        return open(path, mode, *args, **kwargs)


# -- runtime guards (reachable from generated code only through the builtins dict) -----------

_MISSING = object()

_AST_LOCK = threading.RLock()
"""CPython 3.11 keeps one AST conversion depth counter per interpreter: two threads converting
at once (one paused by a finalizer that releases the GIL) fail with "AST constructor recursion
depth mismatch". One conversion at a time."""


def _refused(what: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PolicyError(f"calling {what} is not allowed by the execution policy")

    refused.__name__ = what.rsplit(".", 1)[-1].split(" ")[0]
    return refused


@lru_cache(maxsize=1)
def _forbidden_callables() -> frozenset[int]:
    """Ids of callables no module view may hand out, whatever module re-exports them."""
    import os

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


# -- the AST pass ---------------------------------------------------------------------------


_GROWTH = {ast.Pow: "__snb_pow__", ast.LShift: "__snb_lshift__", ast.Mult: "__snb_mul__"}


def _small_const(node: ast.expr) -> bool:
    """A constant that cannot make an operand grow: a float, or an int up to 64."""
    if not isinstance(node, ast.Constant):
        return False
    return type(node.value) is float or (type(node.value) is int and abs(node.value) <= 64)


_RESERVED = "__snb"
_IDENTIFIER_FIELDS = ("name", "id", "arg", "asname", "rest")


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


class _Guard(ast.NodeTransformer):
    def __init__(self, policy: Policy, tree: ast.AST | None = None) -> None:
        self.policy = policy
        self.temps = 0
        # Names that hold an int of at most 64 bits where they are read: the variable of a
        # `for` over `range(...)` that nothing else rebinds. A product of two of them cannot
        # grow, so it needs no guard (the common `i * i` of numeric loops stays native).
        self.small: list[frozenset[str]] = [frozenset()]
        self.rebound: set[str] = set()
        if tree is not None:
            for sub in ast.walk(tree):
                if isinstance(sub, ast.Global | ast.Nonlocal):
                    self.rebound.update(sub.names)

    def _range_var(self, target: ast.expr, iterable: ast.expr, scope: list[ast.AST]) -> str | None:
        """The name of `for NAME in range(...)` if nothing in `scope` rebinds it."""
        if not (isinstance(target, ast.Name) and isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name)):
            return None
        if iterable.func.id != "range" or iterable.keywords or target.id in self.rebound:
            return None
        for node in scope:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and sub.id == target.id and not isinstance(sub.ctx, ast.Load):
                    return None
                if isinstance(sub, ast.arg) and sub.arg == target.id:
                    return None
        return target.id

    @staticmethod
    def _bounded_range(iterable: ast.expr) -> None:
        assert isinstance(iterable, ast.Call)
        iterable.func = ast.copy_location(ast.Name("__snb_range64__", ast.Load()), iterable.func)

    def visit_For(self, node: ast.For) -> ast.AST:
        name = self._range_var(node.target, node.iter, [*node.body, *node.orelse])
        node.iter = self.visit(node.iter)
        node.target = self.visit(node.target)
        if name:
            self._bounded_range(node.iter)
        self.small.append(self.small[-1] | {name} if name else self.small[-1])
        try:
            node.body = self._statements(node.body)
        finally:
            self.small.pop()
        node.orelse = self._statements(node.orelse)
        return node

    def _statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            new = self.visit(stmt)
            out.extend(new if isinstance(new, list) else [new] if new is not None else [])
        return out

    def _comprehension(self, node: Any) -> ast.AST:
        parts = [node.elt] if hasattr(node, "elt") else [node.key, node.value]
        names = set()
        ranged = []
        for i, gen in enumerate(node.generators):
            rest = parts + [x for g in node.generators[i:] for x in g.ifs] + [g.iter for g in node.generators[i + 1 :]]
            name = self._range_var(gen.target, gen.iter, rest)
            if name:
                names.add(name)
                ranged.append(gen)
        self.small.append(self.small[-1] | names)
        try:
            result = self.generic_visit(node)
        finally:
            self.small.pop()
        for gen in ranged:
            self._bounded_range(gen.iter)
        return result

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension

    def _is_small(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.small[-1]
        return isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 1 << 63

    def _fail(self, node: ast.AST, message: str) -> PolicyError:
        line = getattr(node, "lineno", None)
        return PolicyError(f"{message} (line {line})" if line else message)

    def _temp(self) -> str:
        self.temps += 1
        return f"__snb_t{self.temps}"

    def visit(self, node: ast.AST) -> Any:
        # The guard's helpers are found by name: no code may bind or shadow one of them.
        for field in _IDENTIFIER_FIELDS:
            value = getattr(node, field, None)
            if isinstance(value, str) and value.startswith(_RESERVED):
                raise self._fail(node, f"the name {value!r} is reserved for the execution policy")
        return super().visit(node)

    # -- annotations: a string annotation is code that libraries evaluate later, unguarded --------

    def _annotation(self, annotation: ast.expr | None) -> None:
        if annotation is None:
            return
        for sub in ast.walk(annotation):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                raise self._fail(
                    annotation,
                    "string annotations are not allowed (libraries evaluate them later, outside the policy); "
                    "write the type itself",
                )

    def visit_arg(self, node: ast.arg) -> ast.AST:
        self._annotation(node.annotation)
        return self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self._annotation(node.returns)
        return self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in guards._FINALIZERS:
                raise self._fail(
                    item, f"defining {item.name} is not allowed: the host would run it later, outside the time limit"
                )
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self._annotation(node.annotation)
        return self.generic_visit(node)

    # -- pattern matching: class patterns read attributes ----------------------------------------

    def visit_Match(self, node: ast.Match) -> Any:
        self.generic_visit(node)
        prelude: list[ast.stmt] = []
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                if not isinstance(pattern, ast.MatchClass):
                    continue
                for attr in pattern.kwd_attrs:
                    rule = _attr_rule(attr)
                    if rule or attr.startswith("_"):
                        raise self._fail(
                            pattern, rule or f"reading the private attribute {attr!r} in a class pattern is not allowed"
                        )
                # The class is checked once, before matching, and held where no code can rebind it.
                temp = self._temp()
                prelude.append(ast.Assign(targets=[ast.Name(temp, ast.Store())], value=_call("__snb_match__", pattern.cls)))
                pattern.cls = ast.Name(temp, ast.Load())
        for stmt in prelude:
            ast.copy_location(stmt, node)
        return [*prelude, node] if prelude else node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        for alias in node.names:
            if not self.policy.is_allowed_module(alias.name):
                raise self._fail(node, str(self.policy._refuse_import(alias.name)))
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level:
            raise self._fail(node, "relative imports are not allowed")
        module = node.module or ""
        if not self.policy.is_allowed_module(module):
            raise self._fail(node, str(self.policy._refuse_import(module)))
        for alias in node.names:
            if alias.name.startswith("_"):
                raise self._fail(node, f"importing the private name {alias.name!r} from {module!r} is not allowed")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("__") and node.id != "__name__":
            raise self._fail(node, f"the name {node.id!r} is not allowed")
        if isinstance(node.ctx, ast.Load) and node.id in FORBIDDEN_BUILTINS:
            raise self._fail(node, f"{node.id}() is not allowed by the execution policy")
        return node

    def _check_names(self, node: ast.Global | ast.Nonlocal) -> ast.AST:
        for name in node.names:
            if name.startswith("__"):
                raise self._fail(node, f"the name {name!r} is not allowed")
        return node

    visit_Global = _check_names
    visit_Nonlocal = _check_names

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        rule = _attr_rule(node.attr)
        if rule:
            raise self._fail(node, rule)
        if isinstance(node.ctx, ast.Load):
            if node.attr in _FMT_ATTRS:
                if isinstance(node.value, ast.Constant) and type(node.value.value) is str:
                    try:  # a literal format string: checked once, here, and the call runs as written
                        _check_format_string(node.value.value)
                    except PolicyError as exc:
                        raise self._fail(node, str(exc)) from None
                    return node
                return ast.copy_location(
                    ast.Call(ast.Name("__snb_fmt__", ast.Load()), [node.value, ast.Constant(node.attr)], []), node
                )
            if node.attr.startswith("_") and node.attr not in SAFE_DUNDERS | SAFE_PRIVATE:
                return ast.copy_location(
                    ast.Call(ast.Name("__snb_getattr__", ast.Load()), [node.value, ast.Constant(node.attr)], []), node
                )
            if node.attr in guards.DATA_WRITERS and not self.policy.allow_write:
                return ast.copy_location(_call("__snb_data__", node.value, ast.Constant(node.attr)), node)
        else:
            # `obj.attr = ...` / `del obj.attr`: only on objects the code may change.
            node.value = ast.copy_location(_call("__snb_w__", node.value, ast.Constant(node.attr)), node.value)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        self.generic_visit(node)
        # A handler must not swallow timeouts or interrupts: bare `except:` means Exception,
        # and any other handler's class is checked when an exception reaches it (free otherwise).
        caught = node.type or ast.copy_location(ast.Name("Exception", ast.Load()), node)
        node.type = ast.copy_location(ast.Call(ast.Name("__snb_exc__", ast.Load()), [caught], []), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GROWTH.get(type(node.op))
        if isinstance(node.op, ast.Mult) and self._is_small(node.left) and self._is_small(node.right):
            return node
        if guard and not _small_const(node.right) and not (isinstance(node.op, ast.Mult) and _small_const(node.left)):
            return ast.copy_location(ast.Call(ast.Name(guard, ast.Load()), [node.left, node.right], []), node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        guard = _GROWTH.get(type(node.op))
        if not guard or _small_const(node.value):
            return self.generic_visit(node)
        self.generic_visit(node)
        target = node.target
        if isinstance(target, ast.Name):
            call = _call(guard, ast.Name(target.id, ast.Load()), node.value)
            return ast.copy_location(ast.Assign(targets=[target], value=call), node)
        # `a[i] *= v` / `o.x **= v`: evaluate the container (and index) once, as Python does.
        assert isinstance(target, ast.Subscript | ast.Attribute)
        holder = self._temp()
        stmts: list[ast.stmt] = [ast.Assign(targets=[ast.Name(holder, ast.Store())], value=target.value)]
        if isinstance(target, ast.Subscript):
            index = self._temp()
            stmts.append(ast.Assign(targets=[ast.Name(index, ast.Store())], value=target.slice))
            load: ast.expr = ast.Subscript(ast.Name(holder, ast.Load()), ast.Name(index, ast.Load()), ast.Load())
            store: ast.expr = ast.Subscript(ast.Name(holder, ast.Load()), ast.Name(index, ast.Load()), ast.Store())
        else:
            load = ast.Attribute(ast.Name(holder, ast.Load()), target.attr, ast.Load())
            checked = _call("__snb_w__", ast.Name(holder, ast.Load()), ast.Constant(target.attr))
            store = ast.Attribute(checked, target.attr, ast.Store())
        stmts.append(ast.Assign(targets=[store], value=_call(guard, load, node.value)))
        return [ast.copy_location(st, node) for st in stmts]
