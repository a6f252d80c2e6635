"""The child process of `SubprocessExecutor`: reads requests on stdin, answers on stdout."""

from __future__ import annotations

import os
import pickle
import resource
import signal
import sys
from typing import Any

from ..errors import ExecutionTimeout, FinalAnswer, ToolError, final_answer
from .local import LocalExecutor
from .policy import Policy
from .subprocess import receive, send


def main() -> None:
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    proto_in = sys.stdin.buffer
    executor: LocalExecutor | None = None
    cpu_seconds = 60

    def call(name: str) -> Any:
        def remote(*args: Any, **kwargs: Any) -> Any:
            send(proto_out, {"op": "call", "name": name, "args": args, "kwargs": kwargs})
            reply = receive(proto_in, trusted=True)
            if reply.get("final"):
                raise FinalAnswer(reply["value"])
            if not reply["ok"]:
                raise ToolError(reply["error"])
            return reply["value"]

        remote.__name__ = name
        return remote

    def on_cpu_limit(signum: int, frame: Any) -> None:
        raise ExecutionTimeout

    signal.signal(signal.SIGXCPU, on_cpu_limit)

    while True:
        try:
            message = receive(proto_in, trusted=True)
        except EOFError:
            return
        op = message["op"]
        if op == "init":
            cpu_seconds = message["cpu_seconds"]
            limit = message["memory_mb"] * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            executor = LocalExecutor(Policy(**message["policy"]), timeout=message["timeout"])
            executor.set_functions({"final_answer": final_answer})
            send(proto_out, {"op": "ready"})
        elif op == "functions":
            assert executor is not None
            executor.set_functions({"final_answer": final_answer, **{n: call(n) for n in message["names"]}})
        elif op == "variables":
            assert executor is not None
            executor.set_variables(message["values"])
        elif op == "run":
            assert executor is not None
            used = int(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]))
            resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, resource.RLIM_INFINITY))
            result = executor.run(message["code"], timeout=message["timeout"])
            send(proto_out, {"op": "result", "result": _picklable(result)})
        elif op == "snapshot":
            assert executor is not None
            blob, missing = executor.snapshot(message["max_bytes"])
            send(proto_out, {"op": "snapshot", "blob": blob, "missing": missing})
        elif op == "close":
            return


def _picklable(result: Any) -> Any:
    try:
        pickle.dumps(result.final_value)
    except Exception:  # noqa: BLE001 - send its repr instead
        result.final_value = repr(result.final_value)
    return result


if __name__ == "__main__":
    main()
