"""Run code natively in this process (the notebook's kernel), guarded by the policy."""

from __future__ import annotations

import builtins
import decimal
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from ..errors import ExecutionTimeout, FinalAnswer, PolicyError, ToolError
from . import deadline
from .base import ExecResult, Executor, format_exception, format_syntax_error, pickle_variables, short_repr
from .budget import budget
from .iterators import lazy_depths
from .policy import AGENT_MODULE, FORBIDDEN_MODULES, Policy, PolicyAbort
from .watchdog import watchdog

ExecutionTimeout.hook = deadline.on_timeout

__all__ = ["LocalExecutor"]


class _Output:
    """The `print` of generated code: writes into the current block's buffer, thread-safely."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.lock = threading.Lock()
        self.on_output: Callable[[str], None] | None = None

    def print(self, *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False) -> None:
        text = (" " if sep is None else sep).join(str(a) for a in args) + ("\n" if end is None else end)
        if file is not None:
            file.write(text)
            return
        with self.lock:
            self.parts.append(text)
        listener = self.on_output
        if listener is not None:
            listener(text)

    def take(self) -> str:
        with self.lock:
            text = "".join(self.parts)
            self.parts.clear()
        return text


class LocalExecutor(Executor):
    """Executes code blocks with CPython's `exec` in a persistent namespace.

    Args:
        policy: what the code may do (a default `Policy()` if None).
        namespace: the dict the code runs in; pass the notebook's user namespace to share it.
        timeout: wall-clock seconds per block before `ExecutionTimeout` stops it.
        memory_mb: how far the process's address space may grow while a block runs (None: no
            limit); past it an allocation fails with `MemoryError` instead of the kernel dying.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        namespace: dict[str, Any] | None = None,
        timeout: float = 30.0,
        memory_mb: int | None = 2048,
    ) -> None:
        self.policy = policy or Policy()
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._owned = namespace is None
        self.namespace: dict[str, Any] = {} if namespace is None else namespace
        self.namespace.setdefault("__name__", AGENT_MODULE)
        self._output = _Output()
        self.interrupted_stdout = ""  # what the block printed before a user's interrupt stopped it
        self._builtins = dict(self.policy.builtins, print=self._output.print)
        self._functions: dict[str, Callable[..., Any]] = {}
        self._provided: frozenset[str] = frozenset()

    def set_functions(self, functions: dict[str, Callable[..., Any]]) -> None:
        """Tools, managed agents and `final_answer`: in the code's namespace while a block runs.

        A tool removed mid-run answers that it was removed; none is left in a shared namespace.
        """
        removed = {name: _removed(name) for name in set(self._functions) - set(functions) if not name.startswith("_removed")}
        self._functions = {**removed, **functions}
        self._provided = frozenset(functions)
        if self._owned:
            self.namespace.update(self._functions)

    def set_variables(self, values: dict[str, Any]) -> None:
        self.namespace.update(values)

    def variables(self) -> dict[str, Any]:
        hidden = set(self._functions) | _SESSION_NAMES
        return {k: v for k, v in self.namespace.items() if not k.startswith("_") and k not in hidden}

    @property
    def on_output(self) -> Callable[[str], None] | None:
        return self._output.on_output

    @on_output.setter
    def on_output(self, listener: Callable[[str], None] | None) -> None:
        self._output.on_output = listener

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        start = time.perf_counter()
        try:
            compiled = self.policy.compile(code, provided=self._provided)
        except SyntaxError as exc:
            return ExecResult(error=format_syntax_error(exc), error_kind="syntax", duration=time.perf_counter() - start)
        except PolicyError as exc:
            return ExecResult(error=f"PolicyError: {exc}", error_kind="policy", duration=time.perf_counter() - start)
        except (RecursionError, MemoryError):
            return ExecResult(
                error="PolicyError: code nested this deeply is not allowed (it cannot be checked); write it as several simpler statements",
                error_kind="policy",
                duration=time.perf_counter() - start,
            )

        handled = sys.exc_info()[1]  # the caller's, if it runs us inside an `except`
        ns = self.namespace
        saved_builtins = ns.get("__builtins__", _UNSET)
        ns["__builtins__"] = self._builtins
        shielded = self._shield(ns)
        if not self._owned:  # the notebook's own names come back after the block
            for name, fn in self._functions.items():
                shielded[name] = (ns.get(name, _UNSET), fn)
                ns[name] = fn
        ns.pop("__snb_last__", None)
        result = ExecResult()
        limit = self.timeout if timeout is None else timeout
        token = watchdog.arm(limit) if limit and limit > 0 else None
        deadline.begin(_RUN_CODE, limit)
        budgeted = budget.enter(self.memory_mb)
        try:
            try:
                # Everything the code's own objects do runs here, under the limit: the block, and
                # the repr/str of its last value, final answer and exception.
                self._guarded(compiled, ns, code, result)
            finally:
                if token is not None:
                    watchdog.disarm(token)  # first: no timeout may land in the cleanup below
        except ExecutionTimeout:
            sys.settrace(None)
            result.error = (
                f"TimeoutError: the code ran past its {limit:g} s limit and was stopped. "
                "Make it faster, work on less data, or split the work over several steps."
            )
            result.error_kind, result.is_final, result.final_value = "timeout", False, None
        except BaseException as exc:
            sys.settrace(None)
            if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, PolicyAbort):
                self.interrupted_stdout = self._output.take()  # the interrupted step's, not the next block's
                raise  # the user's interrupt: the run stops
            result.error, result.error_kind = f"{type(exc).__name__} raised by the code was stopped", "exception"
        finally:
            sys.settrace(None)
            if budgeted:
                budget.leave()
            deadline.end()
            lazy_depths.clear()
            if token is not None:
                watchdog.disarm(token)  # again, in case a timeout landed as the first disarm began
            for name, (original, stand_in) in shielded.items():
                if ns.get(name) is stand_in:
                    if original is _UNSET:
                        del ns[name]
                    else:
                        ns[name] = original
            ns.pop("__snb_last__", None)
            if saved_builtins is _UNSET:
                ns.pop("__builtins__", None)
            else:
                ns["__builtins__"] = saved_builtins
        if sys.exc_info()[1] is not handled:
            _set_handled(handled)
        result.stdout = self._output.take()
        result.duration = time.perf_counter() - start
        return result

    def _guarded(self, compiled: types.CodeType, ns: dict[str, Any], code: str, result: ExecResult) -> None:
        try:
            with decimal.localcontext():  # a change to the decimal context stays in the block
                exec(compiled, ns)  # noqa: S102 - the point of this class; guarded by the policy
        except BaseException as exc:  # noqa: BLE001 - sorted below
            sys.settrace(None)  # a C call: not traced, so it always runs
            self._classify(exc, code, result)
        else:
            last = ns.get("__snb_last__")
            if last is not None:
                result.value_repr = short_repr(last)

    @staticmethod
    def _classify(exc: BaseException, code: str, result: ExecResult) -> None:
        if isinstance(exc, ExecutionTimeout | KeyboardInterrupt) and not isinstance(exc, PolicyAbort):
            raise exc
        if isinstance(exc, FinalAnswer):
            result.is_final = True
            result.final_repr = short_repr(exc.value)
            # An object whose methods are the code's own would run them in the host, later and
            # unguarded (repr in a widget, == in a scorer): the host gets its rendering instead.
            result.final_value = result.final_repr if _holds_agent_code(exc.value) else exc.value
        elif isinstance(exc, PolicyAbort):
            result.error, result.error_kind = f"PolicyError: {_message(exc)}", "policy"
        elif isinstance(exc, PolicyError):
            result.error, result.error_kind = format_exception(exc, code), "policy"
        elif isinstance(exc, ToolError):
            result.error, result.error_kind = format_exception(exc, code), "tool"
        elif isinstance(exc, RecursionError | MemoryError):
            result.error = f"{type(exc).__name__}: the code went too deep or asked for too much memory and was stopped"
            result.error_kind = "exception"
        elif isinstance(exc, Exception):
            result.error, result.error_kind = format_exception(exc, code), "exception"
        else:  # SystemExit, GeneratorExit, a BaseException subclass of the code's own
            result.error = (
                f"{type(exc).__name__}: agent code cannot exit or stop the interpreter; call final_answer(...) to finish"
            )
            result.error_kind = "exception"

    def snapshot(self, max_bytes: int = 8 << 20) -> tuple[bytes, dict[str, str]]:
        """Pickle the variables under the time limit: pickling runs the code's `__reduce__`."""
        try:
            blob: tuple[bytes, dict[str, str]] = self._guarded_call(lambda: pickle_variables(self.variables(), max_bytes))
            return blob
        except ExecutionTimeout:
            return pickle_variables({}, max_bytes)[0], {"(all)": "the snapshot ran past the time limit and was skipped"}

    def close(self) -> None:
        """Drop a namespace of the executor's own under the time limit.

        Finalizers and generators' `finally` blocks are the code's own and run when it goes.
        """
        if not self._owned:
            return
        ns = self.namespace

        def clear() -> None:
            ns.clear()
            import gc

            gc.collect()

        try:
            self._guarded_call(clear)
        except ExecutionTimeout:
            pass

    def _guarded_call(self, fn: Callable[[], Any]) -> Any:
        limit = max(min(self.timeout, 10.0), 1.0) if self.timeout else 10.0
        token = watchdog.arm(limit)
        deadline.begin(_CALL_CODE, limit)
        try:
            try:
                return _call_guarded(fn)
            finally:
                watchdog.disarm(token)  # first: no timeout may land in the cleanup below
        finally:
            sys.settrace(None)
            deadline.end()
            watchdog.disarm(token)  # again, in case a timeout landed as the first disarm began

    def _shield(self, ns: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """While code runs, what the user put in a shared namespace is seen through the policy.

        Modules become policy views (or refusals, when not authorized), so `os.system` is not
        one name away; IPython's own `open` (and any alias of a guarded builtin) becomes the
        guarded one; functions, classes and objects of refused modules (`system`, `Path`,
        `get_ipython`, a `Path` instance) become refusals.
        """
        shielded = {}
        guarded_open = self._builtins["open"]
        for name, value in ns.items():
            if type(value) in _PLAIN_DATA or name.startswith("__") or name in self._functions:
                continue  # plain data first: a long run's namespace is mostly that
            stand_in: Any = None
            if isinstance(value, types.ModuleType):
                if value.__dict__.get("__smolnb_view__"):
                    continue
                if self.policy.is_allowed_module(value.__name__):
                    stand_in = self.policy.module(value.__name__)
                else:
                    stand_in = _RefusedModule(value.__name__)
            elif _is_open(value):
                stand_in = guarded_open
            else:
                owner = _owner_module(value)
                if (
                    owner is not None
                    and owner != __name__
                    and not self.policy.is_allowed_module(owner)
                    and _is_refused_module(owner)
                ):
                    stand_in = _Refused(name, owner)
            if stand_in is not None:
                shielded[name] = (value, stand_in)
        for name, (_, stand_in) in shielded.items():
            ns[name] = stand_in
        return shielded


class _RefusedModule:
    """Stands for a module the user imported but the policy does not authorize."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise PolicyError(f"the module {self._name!r} is not an authorized import, so agent code cannot use it")

    def __repr__(self) -> str:
        return f"<module {self._name!r} (not authorized for agent code)>"


class _Refused:
    """Stands for a function, class or object of a module agent code may not use."""

    def __init__(self, name: str, module: str) -> None:
        self._what = f"{name!r} (from {module})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise PolicyError(f"{self._what} is not available to agent code: its module is not an authorized import")

    def __getattr__(self, attr: str) -> Any:
        raise PolicyError(f"{self._what} is not available to agent code: its module is not an authorized import")

    def __repr__(self) -> str:
        return f"<{self._what}: not available to agent code>"


_PLAIN_DATA = frozenset({int, float, complex, str, bytes, bool, list, tuple, dict, set, frozenset, type(None)})


def _is_open(value: Any) -> bool:
    import io

    seen = 0
    while value is not None and seen < 5:
        if value is builtins.open or value is io.open:
            return True
        value = getattr(value, "__wrapped__", None) if isinstance(value, types.FunctionType) else None
        seen += 1
    return False


def _owner_module(value: Any) -> str | None:
    """The module a function, class or object comes from (None for plain data)."""
    if isinstance(value, int | float | str | bytes | bool | list | tuple | dict | set | frozenset | type(None)):
        return None
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType | types.MethodType):
        owner = getattr(value, "__module__", None)
    else:
        owner = getattr(type(value), "__module__", None)
    return owner if isinstance(owner, str) else None


def _is_refused_module(name: str) -> bool:
    parts = name.split(".")
    return any(".".join(parts[: i + 1]) in FORBIDDEN_MODULES for i in range(len(parts))) or name in ("posix", "nt", "io", "_io")


_UNSET = object()
_SESSION_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})  # IPython's, not the code's


def _removed(name: str) -> Callable[..., Any]:
    def removed(*args: Any, **kwargs: Any) -> Any:
        raise ToolError(f"the tool {name!r} was removed from this agent; use one of the tools listed in the prompt")

    return removed


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a message that cannot be rendered
        return type(exc).__name__


def _set_handled(exc: BaseException | None) -> None:
    """Put back the exception the caller was handling.

    A timeout raised from the trace function inside a `with` block's `__exit__` can leave CPython 3.11's handled-exception slot
    holding it after the block has unwound, so later errors in the kernel would show it as their context.
    """
    import ctypes

    setter = ctypes.pythonapi.PyErr_SetHandledException
    setter.argtypes = [ctypes.py_object]
    setter.restype = None
    setter(exc)


def _call_guarded(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    finally:
        sys.settrace(None)


def _holds_agent_code(value: Any, depth: int = 0, budget: list[int] | None = None) -> bool:
    """Is there an object of a class, or a function, that the code defined, in `value`?"""
    budget = [10_000] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0 or depth > 6:
        return False
    t = type(value)
    if t.__module__ == AGENT_MODULE or getattr(value, "__module__", None) == AGENT_MODULE and callable(value):
        return True
    if t in (list, tuple, set, frozenset):
        return any(_holds_agent_code(v, depth + 1, budget) for v in value)
    if t is dict:
        return any(_holds_agent_code(k, depth + 1, budget) or _holds_agent_code(v, depth + 1, budget) for k, v in value.items())
    return False


_RUN_CODE = LocalExecutor._guarded.__code__
_CALL_CODE = _call_guarded.__code__
