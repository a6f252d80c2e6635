"""Run code in a separate process: the same policy, plus OS limits on memory and CPU time.

The worker keeps the code's variables between blocks. Tools and managed agents stay in this
process; the worker calls them over its pipe, so they work the same in both executors.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import BackendError
from .base import ExecResult, Executor, call_provided, worker_pythonpath
from .policy import Policy

__all__ = ["SubprocessExecutor", "receive", "send"]

_HEADER = struct.Struct("!Q")


def send(stream: Any, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: Any, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError("the worker closed its pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(stream: Any, *, trusted: bool = False) -> Any:
    """One message.

    The parent reads the worker's (which the code may control) with the data-only unpickler; the worker reads the parent's with
    plain pickle.
    """
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    data = _read_exact(stream, size)
    if trusted:
        return pickle.loads(data)  # noqa: S301 - sent by the parent
    from .safe_pickle import loads

    return loads(data)


class SubprocessExecutor(Executor):
    """Executes code blocks in a child Python process.

    Args:
        policy: the same policy as in-process.
        timeout: wall-clock seconds per block; the worker stops the code itself, and is killed
            if it does not answer within `timeout + grace` seconds.
        memory_mb: address-space limit of the worker (RLIMIT_AS).
        cpu_seconds: CPU seconds per block (RLIMIT_CPU).
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        timeout: float = 30.0,
        memory_mb: int = 2048,
        cpu_seconds: int = 60,
        grace: float = 5.0,
    ) -> None:
        self.policy = policy or Policy()
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        self.grace = grace
        self._functions: dict[str, Callable[..., Any]] = {}
        self._variables: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # -- process ------------------------------------------------------------------------------

    def _start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not any(s in k.upper() for s in ("KEY", "TOKEN", "SECRET", "PASSWORD"))}
        env["PYTHONPATH"] = worker_pythonpath(env.get("PYTHONPATH"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "smolnb.executor._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        send(
            proc.stdin,
            {
                "op": "init",
                "policy": self.policy.config(),
                "timeout": self.timeout,
                "memory_mb": self.memory_mb,
                "cpu_seconds": self.cpu_seconds,
            },
        )
        # Wait until Python is up in the worker: its start-up is not the code's time.
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        if not ready or receive(proc.stdout).get("op") != "ready":
            proc.kill()
            proc.wait()
            _close_pipes(proc)
            raise BackendError("the subprocess worker did not start")
        self._proc = proc
        self._push_state()
        return proc

    def _push_state(self) -> None:
        assert self._proc is not None
        send(self._proc.stdin, {"op": "functions", "names": sorted(self._functions)})
        if self._variables:
            send(self._proc.stdin, {"op": "variables", "values": self._variables})
            self._variables = {}

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            return self._start()
        return self._proc

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            send(proc.stdin, {"op": "close"})
            proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - it is going away either way
            proc.kill()
            proc.wait()
        _close_pipes(proc)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass

    # -- interface ----------------------------------------------------------------------------

    def set_functions(self, functions: dict[str, Callable[..., Any]]) -> None:
        self._functions = {k: v for k, v in functions.items() if k != "final_answer"}
        if self._proc is not None and self._proc.poll() is None:
            send(self._proc.stdin, {"op": "functions", "names": sorted(self._functions)})

    def set_variables(self, values: dict[str, Any]) -> None:
        if self._proc is not None and self._proc.poll() is None:
            send(self._proc.stdin, {"op": "variables", "values": values})
        else:
            self._variables.update(values)

    def snapshot(self, max_bytes: int = 8 << 20) -> tuple[bytes, dict[str, str]]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                return pickle.dumps({}), {}
            send(self._proc.stdin, {"op": "snapshot", "max_bytes": max_bytes})
            reply = receive(self._proc.stdout)
            return reply["blob"], reply["missing"]

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        with self._lock:
            return self._run(code, self.timeout if timeout is None else timeout)

    def _run(self, code: str, limit: float) -> ExecResult:
        start = time.perf_counter()
        proc = self._ensure()
        assert proc.stdin is not None and proc.stdout is not None
        send(proc.stdin, {"op": "run", "code": code, "timeout": limit})
        deadline = time.monotonic() + limit + self.grace
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(remaining, 0))
            if not ready:
                self._kill()
                return ExecResult(
                    error=f"TimeoutError: the code did not stop within {limit:g} s and its process was killed; "
                    "variables from earlier steps are lost.",
                    error_kind="timeout",
                    duration=time.perf_counter() - start,
                )
            try:
                message = receive(proc.stdout)
            except (EOFError, OSError):
                code_ = self._kill()
                return ExecResult(
                    error=f"ProcessDied: the code's process exited (status {code_}), for example past its "
                    f"{self.memory_mb} MB memory or {self.cpu_seconds} s CPU limit; variables from earlier "
                    "steps are lost and a fresh process runs the next step.",
                    error_kind="crash",
                    duration=time.perf_counter() - start,
                )
            if message["op"] == "result":
                result: ExecResult = message["result"]
                result.duration = time.perf_counter() - start
                return result
            if message["op"] == "call":
                send(proc.stdin, self._call(message["name"], message["args"], message["kwargs"]))

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        outcome, value = call_provided(self._functions, name, args, kwargs)
        if outcome == "error":
            return {"op": "reply", "ok": False, "error": value}
        try:
            pickle.dumps(value)
        except Exception as exc:  # noqa: BLE001 - PicklingError, TypeError, AttributeError, ...
            return {"op": "reply", "ok": False, "error": f"{name} returned a value that cannot cross processes: {exc}"}
        if outcome == "final":
            return {"op": "reply", "ok": False, "final": True, "value": value}
        return {"op": "reply", "ok": True, "value": value}

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        _close_pipes(proc)
        return code

    def pid(self) -> int | None:
        """The worker's process id (None before the first block)."""
        return self._proc.pid if self._proc is not None else None

    def __getstate__(self) -> dict[str, Any]:
        raise BackendError("a SubprocessExecutor cannot be pickled")


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Close our ends of a finished worker's pipes (left open, each leaks a file descriptor)."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
