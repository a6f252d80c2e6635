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
import sys
import threading
import types
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import PolicyError, UserError
from . import guards
from .iterators import lazy_depths
from .rewrite import _Guard
from .rules import (
    AGENT_MODULE,
    DEFAULT_IMPORTS,
    FILENAME,
    FORBIDDEN_BUILTINS,
    FORBIDDEN_MODULES,
    SAFE_PRIVATE,
    SAFE_SUBMODULES,
    _attr_rule,
    _module_root,
)
from .runtime import (
    PolicyAbort,
    _forbidden_callables,
    _guarded_operator,
    _interruptible_sleep,
    _refused,
    _SafeFormatter,
    checked_handler,
    guarded_format,
    private_getattr,
    safe_delattr,
    safe_getattr,
    safe_hasattr,
    safe_lshift,
    safe_pow,
    safe_setattr,
)

__all__ = ["AGENT_MODULE", "DEFAULT_IMPORTS", "FORBIDDEN_MODULES", "Policy", "PolicyAbort", "module_names"]


_MISSING = object()

_AST_LOCK = threading.RLock()
"""CPython 3.11 keeps one AST conversion depth counter per interpreter: two threads converting
at once (one paused by a finalizer that releases the GIL) fail with "AST constructor recursion
depth mismatch". One conversion at a time."""


def module_names(given: str | Iterable[str]) -> list[str]:
    """Module names however a person writes them: `"pandas, numpy"`, `["pandas", " numpy"]`, `("a,", "b")`.

    Each entry may hold several names separated by commas; spaces and empty entries are dropped.
    A string is a comma-separated list, never a sequence of letters.
    """
    parts = [given] if isinstance(given, str) else list(given)
    names = [name.strip() for part in parts for name in str(part).split(",") if name.strip()]
    for name in names:
        if name != "*" and not all(piece.isidentifier() for piece in name.split(".")):
            raise UserError(
                f"{name!r} is not a module name: authorize modules by name, several separated by commas, "
                "e.g. authorized_imports=['pandas', 'numpy'] or --imports pandas,numpy"
            )
    return names


class Policy:
    """What generated code may do.

    Args:
        authorized_imports: modules added to `DEFAULT_IMPORTS`. `"pkg"` also allows its
            sub-modules; `"*"` allows everything but `FORBIDDEN_MODULES`.
        allow_write: let `open` write files (reading is always allowed).
    """

    def __init__(self, authorized_imports: str | Iterable[str] = (), *, allow_write: bool = False) -> None:
        extra = set(module_names(authorized_imports))
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
                **{f.__name__: lazy_depths.wrap(f) for f in (map, filter, zip, enumerate, reversed)},
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
