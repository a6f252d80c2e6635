"""The confined child of `SandboxExecutor`.

It is started already confined (Landlock, seccomp, rlimits, a clean environment: see
`sandbox.py`), adds its own seccomp layer once Python is up (no new programs, no sockets, no
new processes), reports the layers it holds, and then runs code blocks under the same
policy as in the kernel. Everything it sends goes through `wire`/`codec`: JSON and raw
frames, never pickle. What the parent sends may be pickled (the parent is trusted).
"""

from __future__ import annotations

import ast
import os
import pickle
import resource
import signal
import sys
import time
from typing import Any

_IN, _OUT = 0, 3  # the protocol's pipes: stdin, and the stdout it had before fd 1 became stderr


def _seccomp_layer() -> str | None:
    """Deny exec, new processes, sockets and tracing from here on; returns why not, or None."""
    import ctypes.util

    libs = dict(x.split("=", 1) for x in os.environ.get("_SMOLNB_SANDBOX_LIBS", "").split(",") if "=" in x)
    find = ctypes.util.find_library
    ctypes.util.find_library = lambda name: libs.get(name) or find(name)  # no ldconfig in here
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError, RuntimeError) as exc:  # the library or libseccomp.so.2 is missing
        return f"pyseccomp unavailable ({exc})"
    eperm = seccomp.ERRNO(1)
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in (
        "execve",
        "execveat",
        "fork",
        "vfork",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "socket",
        "socketpair",
        "connect",
        "bind",
        "listen",
        "accept",
        "accept4",
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "unshare",
        "setns",
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "setgroups",
        "capset",
        "kexec_load",
        "init_module",
        "finit_module",
        "delete_module",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "io_uring_setup",
        "personality",
        "reboot",
    ):
        try:
            f.add_rule(eperm, name)
        except Exception:  # noqa: BLE001, S112 - a syscall this architecture lacks
            continue
    # Threads are fine (CLONE_THREAD); a clone that makes a new process is not.
    clone_thread = 0x00010000
    f.add_rule(eperm, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, clone_thread, 0))
    f.add_rule(seccomp.ERRNO(38), "clone3")  # ENOSYS: libc falls back to clone, checked above
    f.load()
    return None


def main() -> None:
    os.dup2(1, _OUT)  # the protocol owns the real stdout; what the code's libraries print goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from smolnb.executor import local, wire  # noqa: F401 - loaded before "ready": the first step pays nothing

    layers = dict(x.split("=", 1) for x in os.environ.get("_SMOLNB_SANDBOX_LAYERS", "").split(",") if "=" in x)
    why = _seccomp_layer()
    layers["seccomp-worker"] = "on" if why is None else f"off: {why}"
    wire.write_message(_OUT, {"op": "ready", "layers": layers, "pid": os.getpid()})
    Worker(wire).serve()


class Worker:
    def __init__(self, wire: Any) -> None:
        self.wire = wire
        self.executor: Any = None
        self.cpu_seconds = 60
        self.ids: dict[str, int] = {}

    def send(self, header: dict[str, Any], blobs: list[Any] = ()) -> None:  # type: ignore[assignment]
        self.wire.write_message(_OUT, header, list(blobs))

    def serve(self) -> None:
        signal.signal(signal.SIGXCPU, self._on_cpu_limit)
        while True:
            try:
                message, blobs = self.wire.read_message(_IN)
            except EOFError:
                return
            op = message["op"]
            if op == "close":
                return
            getattr(self, f"op_{op}")(message, blobs)

    def _on_cpu_limit(self, signum: int, frame: Any) -> None:
        from smolnb.errors import ExecutionTimeout

        raise ExecutionTimeout

    # -- requests -----------------------------------------------------------------------------

    def op_init(self, message: dict[str, Any], blobs: list[Any]) -> None:
        from smolnb.executor.local import LocalExecutor
        from smolnb.executor.policy import Policy

        self.cpu_seconds = message["cpu_seconds"]
        limit = message["memory_mb"] * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (message["file_mb"] << 20, message["file_mb"] << 20))
        if message.get("guard", True):
            self.executor = LocalExecutor(Policy(**message["policy"]), timeout=message["timeout"])
        else:  # the OS boundary alone: plain Python inside the box
            self.executor = _Unguarded(timeout=message["timeout"])
        from smolnb.errors import final_answer

        self.executor.set_functions({"final_answer": final_answer})

    def op_functions(self, message: dict[str, Any], blobs: list[Any]) -> None:
        functions = {n: self._remote(n) for n in message["names"]}
        from smolnb.errors import final_answer

        self.executor.set_functions({"final_answer": final_answer, **functions})

    def op_variables(self, message: dict[str, Any], blobs: list[Any]) -> None:
        values = {}
        for name, item in message["values"].items():
            if "pickle" in item:
                values[name] = pickle.loads(blobs[item["pickle"]])  # noqa: S301 - sent by the trusted parent
            else:
                values[name] = self.wire.unpack_value(item["enc"], blobs)
        self.executor.set_variables(values)
        self.ids.update({k: id(v) for k, v in values.items()})

    def op_delete(self, message: dict[str, Any], blobs: list[Any]) -> None:
        for name in message["names"]:
            self.executor.namespace.pop(name, None)
            self.ids.pop(name, None)

    def op_run(self, message: dict[str, Any], blobs: list[Any]) -> None:
        used = int(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]))
        resource.setrlimit(resource.RLIMIT_CPU, (used + self.cpu_seconds, resource.RLIM_INFINITY))
        code = message["code"]
        start = time.perf_counter()
        result = self.executor.run(code, timeout=message["timeout"])
        header: dict[str, Any] = {
            "op": "result",
            "stdout": result.stdout,
            "value_repr": result.value_repr,
            "error": result.error,
            "error_kind": result.error_kind,
            "is_final": result.is_final,
            "final_repr": result.final_repr,
            "duration": time.perf_counter() - start,
        }
        out: list[Any] = []
        if result.is_final:
            try:
                header["final"], _ = _pack(self.wire, result.final_value, out)
            except Exception:  # noqa: BLE001 - the rendered repr stands in for it
                header["final"] = None
        if message.get("sync", True):  # only a shared namespace wants its variables back
            changed, kept, deleted = self._changes(code, out)
            header.update(changed=changed, kept=kept, deleted=deleted)
        self.send(header, out)

    def op_snapshot(self, message: dict[str, Any], blobs: list[Any]) -> None:
        out: list[Any] = []
        values, missing = {}, {}
        for name, value in self.executor.variables().items():
            if _is_module(value):
                continue
            try:
                values[name], _ = _pack(self.wire, value, out)
            except Exception as exc:  # noqa: BLE001 - reported by name and type
                missing[name] = f"{type(value).__name__} (stays in the sandbox: {exc})"
        self.send({"op": "snapshot", "values": values, "missing": missing}, out)

    # -- helpers ------------------------------------------------------------------------------

    def _changes(self, code: str, out: list[Any]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
        """Variables this block created, rebound or may have changed in place, encoded."""
        current = self.executor.variables()
        stored, called = _touched_names(code)
        # A method call may change a container in place; on a DataFrame only `inplace=True` does.
        touched = stored | {n for n in called if n in current and not type(current[n]).__module__.startswith("pandas")}
        changed: dict[str, Any] = {}
        kept: dict[str, str] = {}
        for name, value in current.items():
            if _is_module(value):
                continue
            if self.ids.get(name) == id(value) and name not in touched:
                continue
            self.ids[name] = id(value)
            try:
                changed[name], _ = _pack(self.wire, value, out)
            except Exception as exc:  # noqa: BLE001 - it stays here, usable by later steps
                kept[name] = f"{type(value).__name__} (stays in the sandbox: {exc})"
        deleted = [n for n in list(self.ids) if n not in current]
        for name in deleted:
            del self.ids[name]
        return changed, kept, deleted

    def _remote(self, name: str) -> Any:
        from smolnb.errors import FinalAnswer, ToolError

        wire = self.wire

        def remote(*args: Any, **kwargs: Any) -> Any:
            out: list[Any] = []
            try:
                packed_args, _ = _pack(wire, list(args), out)
                packed_kwargs, _ = _pack(wire, kwargs, out)
            except Exception as exc:  # noqa: BLE001
                raise ToolError(f"the arguments of {name}() cannot leave the sandbox: {exc}") from None
            self.send({"op": "call", "name": name, "args": packed_args, "kwargs": packed_kwargs}, out)
            reply, blobs = wire.read_message(_IN)
            if reply.get("final"):
                raise FinalAnswer(self._value(reply, blobs))
            if not reply["ok"]:
                raise ToolError(reply["error"])
            return self._value(reply, blobs)

        remote.__name__ = name
        return remote

    def _value(self, reply: dict[str, Any], blobs: list[Any]) -> Any:
        if "pickle" in reply:
            return pickle.loads(blobs[reply["pickle"]])  # noqa: S301 - sent by the trusted parent
        return self.wire.unpack_value(reply.get("value"), blobs)


class _Unguarded:
    """Plain `exec` with full builtins, for `SandboxExecutor(guard=False)`.

    Only the kernel's confinement and the parent's kill at the time limit apply.
    """

    def __init__(self, timeout: float) -> None:
        import builtins
        import io

        self.timeout = timeout
        self.namespace: dict[str, Any] = {"__name__": "__smolnb_agent__"}
        self.functions: dict[str, Any] = {}
        self._io = io
        self._builtins = builtins

    def set_functions(self, functions: dict[str, Any]) -> None:
        self.functions = dict(functions)
        self.namespace.update(functions)

    def set_variables(self, values: dict[str, Any]) -> None:
        self.namespace.update(values)

    def variables(self) -> dict[str, Any]:
        return {k: v for k, v in self.namespace.items() if not k.startswith("_") and k not in self.functions}

    def run(self, code: str, timeout: float | None = None) -> Any:
        import contextlib
        import traceback

        from smolnb.errors import FinalAnswer
        from smolnb.executor.base import ExecResult, short_repr

        out = self._io.StringIO()
        result = ExecResult()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, "<agent-code>", "exec", dont_inherit=True), self.namespace)  # noqa: S102 - inside the sandbox
        except FinalAnswer as final:
            result.is_final, result.final_value, result.final_repr = True, final.value, short_repr(final.value)
        except SyntaxError as exc:
            result.error, result.error_kind = f"SyntaxError: {exc}", "syntax"
        except BaseException as exc:  # noqa: BLE001 - reported to the model
            result.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            result.error_kind = "exception"
        result.stdout = out.getvalue()
        return result


def _pack(wire: Any, value: Any, out: list[Any]) -> tuple[Any, list[Any]]:
    from smolnb.executor.codec import encode

    return encode(value, out)


def _is_module(value: Any) -> bool:
    import types

    return isinstance(value, types.ModuleType) or bool(getattr(value, "__smolnb_view__", False))


def _touched_names(code: str) -> tuple[set[str], set[str]]:
    """Names whose object the block may have changed in place.

    First set: `x[...] = `, `x.a = `, `x += `, `del x[...]`, `x.method(..., inplace=True)`.
    Second: any method called on `x` (which changes lists, dicts, arrays in place).
    """
    stored: set[str] = set()
    called: set[str] = set()
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError, MemoryError):
        return stored, called
    for node in ast.walk(tree):
        target, into = None, stored
        if isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            target = node.value
        elif isinstance(node, ast.AugAssign):
            target = node.target
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            inplace = any(k.arg == "inplace" for k in node.keywords)
            into = stored if inplace else called
        while isinstance(target, ast.Subscript | ast.Attribute):
            target = target.value
        if isinstance(target, ast.Name):
            into.add(target.id)
    return stored, called


if __name__ == "__main__":
    sys.path[:0] = [p for p in os.environ.get("_SMOLNB_SANDBOX_PATH", "").split(os.pathsep) if p]
    main()
