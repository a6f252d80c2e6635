"""Run code in a child process confined by the kernel: the boundary for code you do not trust.

Layers, outermost first:

- **sandlock** starts the worker: Landlock (read-only system and Python paths, read-write
  only a per-worker scratch directory, no signals or abstract sockets outside the sandbox),
  its seccomp blocklist, no network, a clean environment (no secret of the parent), an
  address-space limit, the scratch directory as working directory.
- The worker adds its **own seccomp filter** once Python is up: no exec, no new processes,
  no sockets, no ptrace, no privilege changes.
- **rlimits** per block: CPU seconds, address space, file size.
- The in-kernel **policy** runs inside as a second layer.

The parent never unpickles what the worker sends: JSON and raw frames (`wire`, `codec`).
Where a layer is missing (no sandlock, a kernel without Landlock), the executor refuses
with a message that names the fix, unless `allow_weaker=True`; `layers` says what holds.
A small pool of pre-started workers keeps the first step fast.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from ..errors import BackendError
from . import wire
from .base import ExecResult, Executor, call_provided, pickle_variables
from .codec import Unsupported, encode
from .local import _SESSION_NAMES
from .policy import Policy
from .sandbox_process import DEFAULT_MEMORY_MB, SandboxUnavailable, _Worker, pool, sandbox_layers

__all__ = ["SandboxExecutor", "SandboxUnavailable", "sandbox_layers"]


class SandboxExecutor(Executor):
    """Executes code blocks in a kernel-confined child process.

    Args:
        policy: the in-kernel policy, applied inside the sandbox too.
        namespace: a dict to share with the code (the notebook's): the variables it needs are
            sent in (DataFrames and arrays as Arrow and raw frames) and the ones it creates or
            changes come back; values that cannot cross safely stay in the sandbox, named.
        timeout: wall-clock seconds per block; the worker is killed at `timeout + grace`.
        memory_mb: address-space limit of the worker.
        cpu_seconds: CPU seconds per block.
        file_mb: largest file the code may write (in its scratch directory).
        allow_weaker: run even where a layer is missing (`layers` says which hold).
        guard: False runs plain Python (every import, `open` for writing) inside the box, with
            the kernel's confinement as the only boundary.
        read_paths: directories the code may read besides Python and the system's libraries
            (your data); everything else outside its scratch directory is invisible to it.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        namespace: dict[str, Any] | None = None,
        timeout: float = 30.0,
        memory_mb: int = DEFAULT_MEMORY_MB,
        cpu_seconds: int = 60,
        file_mb: int = 256,
        grace: float = 1.0,
        allow_weaker: bool = False,
        guard: bool = True,
        read_paths: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.policy = policy or Policy()
        self.guard = guard
        self.read_paths = tuple(os.path.realpath(p) for p in read_paths)
        self.timeout = timeout
        self.namespace = namespace
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.file_mb = file_mb
        self.grace = grace
        self.allow_weaker = allow_weaker
        self._functions: dict[str, Callable[..., Any]] = {}
        self._pending: dict[str, Any] = {}
        self._sent: dict[str, int] = {}  # name -> id of the value the worker holds
        self._named: set[str] = set()  # names the code has used: the variables it needs
        self._worker: _Worker | None = None
        self._lock = threading.Lock()
        self.layers: dict[str, str] = {}
        self.lost: list[str] = []  # notices for the next result (a restarted worker)

    # -- worker -------------------------------------------------------------------------------

    def _ensure(self) -> _Worker:
        worker = self._worker
        if worker is not None and worker.alive():
            return worker
        worker = pool.take(memory_mb=self.memory_mb, allow_weaker=self.allow_weaker, read_paths=self.read_paths)
        self.layers = dict(worker.layers)
        worker.send(
            {
                "op": "init",
                "policy": self.policy.config(),
                "timeout": self.timeout,
                "memory_mb": self.memory_mb,
                "cpu_seconds": self.cpu_seconds,
                "file_mb": self.file_mb,
                "guard": self.guard,
            }
        )
        worker.send({"op": "functions", "names": sorted(self._functions)})
        self._worker = worker
        self._sent = {}
        return worker

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass

    def pid(self) -> int | None:
        """The worker's process id (None before the first block)."""
        return self._worker.pid if self._worker is not None else None

    def scratch(self) -> str | None:
        """The worker's private, writable directory."""
        return self._worker.scratch if self._worker is not None else None

    def __getstate__(self) -> dict[str, Any]:
        raise BackendError("a SandboxExecutor cannot be pickled")

    # -- interface ----------------------------------------------------------------------------

    def set_functions(self, functions: dict[str, Callable[..., Any]]) -> None:
        self._functions = {k: v for k, v in functions.items() if k != "final_answer"}
        if self._worker is not None and self._worker.alive():
            self._worker.send({"op": "functions", "names": sorted(self._functions)})

    def set_variables(self, values: dict[str, Any]) -> None:
        if self.namespace is not None:
            self.namespace.update(values)
        else:
            self._pending.update(values)

    def variables(self) -> dict[str, Any]:
        if self.namespace is not None:
            return {k: v for k, v in self.namespace.items() if not k.startswith("_") and k not in self._functions}
        return {}

    def _push(self, worker: _Worker, code: str) -> None:
        """Send what the worker lacks.

        That is: pending values, and the namespace's variables that the code of this executor
        names (this block's and earlier ones'), new or rebound since they were sent.
        """
        values = dict(self._pending)
        self._pending = {}
        if self.namespace is not None:
            self._named |= _names_in(code)
            for name in self._named:
                if name not in self.namespace:
                    continue
                value = self.namespace[name]
                if name.startswith("_") or name in self._functions or name in _SESSION_NAMES or _not_data(value):
                    continue
                if self._sent.get(name) != id(value):
                    values[name] = value
            gone = [n for n in self._sent if n not in self.namespace]
            if gone:
                worker.send({"op": "delete", "names": gone})
                for name in gone:
                    del self._sent[name]
        if not values:
            return
        items: dict[str, Any] = {}
        blobs: list[Any] = []
        for name, value in values.items():
            try:
                items[name] = {"enc": encode(value, blobs)[0]}
            except Unsupported:
                try:
                    blobs.append(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
                except Exception:  # noqa: BLE001, S112 - the code cannot see it; nothing to send
                    continue
                items[name] = {"pickle": len(blobs) - 1}
            self._sent[name] = id(value)
        worker.send({"op": "variables", "values": items}, blobs)

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        with self._lock:
            return self._run(code, self.timeout if timeout is None else timeout)

    def _run(self, code: str, limit: float) -> ExecResult:
        start = time.perf_counter()
        worker = self._ensure()
        self._push(worker, code)
        worker.send({"op": "run", "code": code, "timeout": limit, "sync": self.namespace is not None})
        deadline = time.monotonic() + limit + self.grace
        while True:
            try:
                message, blobs = worker.receive(timeout=deadline - time.monotonic())
            except TimeoutError:
                self._restart()
                return ExecResult(
                    error=f"TimeoutError: the code did not stop within {limit:g} s and its sandbox was killed; "
                    "variables that lived only in the sandbox are lost (the notebook's are sent again).",
                    error_kind="timeout",
                    duration=time.perf_counter() - start,
                )
            except (EOFError, OSError, ValueError):
                self._restart()
                return ExecResult(
                    error=f"ProcessDied: the sandbox process ended (past its {self.memory_mb} MB memory or "
                    f"{self.cpu_seconds} s CPU limit, or refused by the kernel); a fresh sandbox runs the next "
                    "step and variables that lived only in the sandbox are lost.",
                    error_kind="crash",
                    duration=time.perf_counter() - start,
                )
            if message.get("op") == "call":
                self._answer_call(worker, message, blobs)
                continue
            if message.get("op") != "result":
                self._restart()
                return ExecResult(error="ProcessDied: the sandbox sent a malformed reply and was killed", error_kind="crash")
            return self._result(message, blobs, start)

    def _result(self, message: dict[str, Any], blobs: list[bytearray], start: float) -> ExecResult:
        result = ExecResult(
            stdout=_text(message.get("stdout")),
            value_repr=_text(message.get("value_repr")) or None,
            error=_text(message.get("error")) or None,
            error_kind=message.get("error_kind"),
            is_final=bool(message.get("is_final")),
            final_repr=_text(message.get("final_repr")) or None,
        )
        if result.error_kind not in (None, "syntax", "policy", "timeout", "exception", "tool", "crash"):
            result.error_kind = "exception"
        if result.is_final:
            try:
                result.final_value = (
                    wire.unpack_value(message.get("final"), blobs) if message.get("final") is not None else result.final_repr
                )
            except (Unsupported, ValueError, TypeError, KeyError):
                result.final_value = result.final_repr
        changed = message.get("changed") or {}
        if self.namespace is not None and isinstance(changed, dict):
            for name, tree in changed.items():
                if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                    continue
                try:
                    value = wire.unpack_value(tree, blobs)
                except (Unsupported, ValueError, TypeError, KeyError, IndexError):
                    continue
                self.namespace[name] = value
                self._sent[name] = id(value)
            for name in message.get("deleted") or []:
                if isinstance(name, str) and name in self._sent and name in self.namespace:
                    del self.namespace[name]
                    self._sent.pop(name, None)
        kept = message.get("kept") or {}
        if kept and isinstance(kept, dict):
            note = "; ".join(f"{k}: {_text(v)}" for k, v in list(kept.items())[:10])
            result.stdout += f"[sandbox] these stay in the sandbox and are not in the notebook: {note}\n"
        if self.lost:
            result.stdout = "".join(self.lost) + result.stdout
            self.lost = []
        result.duration = time.perf_counter() - start
        return result

    def _answer_call(self, worker: _Worker, message: dict[str, Any], blobs: list[bytearray]) -> None:
        name = str(message.get("name"))
        try:
            args = wire.unpack_value(message.get("args"), blobs)
            kwargs = wire.unpack_value(message.get("kwargs"), blobs)
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise ValueError("malformed arguments")
        except (Unsupported, ValueError, TypeError, KeyError, IndexError) as exc:
            worker.send({"op": "reply", "ok": False, "error": f"{name}: the arguments could not be read ({exc})"})
            return
        outcome, value = call_provided(self._functions, name, args, kwargs)
        if outcome == "error":
            worker.send({"op": "reply", "ok": False, "error": value})
        else:
            self._reply(worker, value, final=outcome == "final")

    def _reply(self, worker: _Worker, value: Any, *, final: bool = False) -> None:
        blobs: list[Any] = []
        try:
            worker.send({"op": "reply", "ok": True, "final": final, "value": encode(value, blobs)[0]}, blobs)
        except Unsupported:
            try:
                data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001
                worker.send({"op": "reply", "ok": False, "error": f"the tool's result cannot enter the sandbox: {exc}"})
                return
            worker.send({"op": "reply", "ok": True, "final": final, "pickle": 0}, [data])

    def _restart(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()
        self._sent = {}

    def snapshot(self, max_bytes: int = 8 << 20) -> tuple[bytes, dict[str, str]]:
        """The sandbox's variables, decoded here from safe frames, then stored like the others."""
        with self._lock:
            worker = self._worker
            if worker is None or not worker.alive():
                return pickle_variables({}, max_bytes)
            worker.send({"op": "snapshot"})
            try:
                message, blobs = worker.receive(timeout=self.timeout + self.grace)
            except (TimeoutError, EOFError, OSError, ValueError):
                self._restart()
                return pickle_variables({}, max_bytes)
            values: dict[str, Any] = {}
            missing = {k: _text(v) for k, v in (message.get("missing") or {}).items()}
            for name, tree in (message.get("values") or {}).items():
                try:
                    values[name] = wire.unpack_value(tree, blobs)
                except (Unsupported, ValueError, TypeError, KeyError, IndexError):
                    missing[name] = "(could not be read back from the sandbox)"
            blob, more = pickle_variables(values, max_bytes)
            return blob, {**missing, **more}


def _names_in(code: str) -> set[str]:
    import ast

    try:
        return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return set()


def _not_data(value: Any) -> bool:
    return (
        isinstance(value, types.ModuleType | types.FunctionType | types.BuiltinFunctionType | type)
        or callable(value)
        and not hasattr(value, "shape")
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
