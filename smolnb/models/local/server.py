"""The llama.cpp server a local model is served by: one per weights file and context size, on 127.0.0.1."""

from __future__ import annotations

import atexit
import importlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from ..._net import free_port, port_taken, stop_process
from ...config import count_setting, home
from ...errors import BackendError, MissingExtraError, ModelError
from .weights import _progress

__all__ = ["LlamaServer"]


# -- threads ---------------------------------------------------------------------------------


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _runnable_now() -> int:
    """Processes running or ready to run at this moment, this one included (Linux; else 1)."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].partition("/")[0])
    except (OSError, ValueError, IndexError):
        return 1


def _threads() -> int:
    """llama.cpp's thread count: `SMOLNB_LOCAL_THREADS`, else the cores no other program is busy on.

    Its threads meet after every layer, so one that shares a core with a busy program holds up
    the rest: on 2 cores busy with other work, 2 threads ran 5.3x slower than on idle ones, and
    2.3x slower than 1 thread. At most 8, at least 1.
    """
    given = count_setting("SMOLNB_LOCAL_THREADS", "a number of threads")
    if given is not None:
        return given
    busy = max(0, _runnable_now() - 1)  # the others
    return max(1, min(_usable_cpus() - busy, 8))


# -- the server ------------------------------------------------------------------------------


class LlamaServer:
    """One `llama_cpp.server` process on 127.0.0.1 serving one GGUF file."""

    def __init__(self, path: Path, *, n_ctx: int = 8192, port: int | None = None, threads: int | None = None) -> None:
        self.path = path
        self.n_ctx = n_ctx
        self.requested_port = port
        self.port: int | None = None
        self.threads = threads or _threads()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = home() / "logs" / f"llama-server-{path.stem}.log"
        self.restarts = 0
        self.started = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line (the port is chosen by `start`)."""
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port or self.requested_port or 0),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            # The default keeps every prompt token's logits (n_ctx x vocabulary floats: 5 GB at 8k
            # tokens, and 0.6x the prompt speed); a completion needs the last token's only.
            "--logits_all",
            "False",
            "--seed",
            "0",
            "--verbose",
            "False",
        ]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 180.0) -> None:
        try:
            importlib.import_module("llama_cpp.server")
        except ImportError as exc:
            raise MissingExtraError("local", "llama-cpp-python", "local models") from exc
        wanted = self.requested_port or count_setting("SMOLNB_LOCAL_PORT", "a TCP port number (0 picks a free one)", minimum=0)
        if wanted and port_taken(wanted):
            raise BackendError(
                f"port {wanted} on 127.0.0.1 is already in use, so the local model server cannot start there. "
                "Set SMOLNB_LOCAL_PORT to a free port, or unset it to pick one automatically."
            )
        self.port = wanted or free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own server module
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.started += 1
        deadline = time.monotonic() + timeout
        bar = _progress(f"loading {self.path.name}", 0)
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise BackendError(
                        f"the local model server exited at start (status {self.proc.returncode}); see {self.log_path}"
                    )
                try:
                    with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:  # noqa: S310 - loopback
                        json.load(reply)
                        return
                except OSError:
                    if bar is not None:
                        bar.update(0)
                    time.sleep(0.2)
        finally:
            if bar is not None:
                bar.close()
        self.stop()
        raise BackendError(f"the local model server did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc)


_servers: dict[Path, LlamaServer] = {}
_servers_lock = threading.Lock()


def _server_for(path: Path, n_ctx: int) -> LlamaServer:
    with _servers_lock:
        server = _servers.get(path)
        if server is None:
            server = _servers[path] = LlamaServer(path, n_ctx=n_ctx)
        if not server.alive():
            if server.started and server.restarts >= 1:
                raise ModelError(
                    f"the local model server for {path.name} died again after a restart; see {server.log_path}. "
                    "Check free memory, then run again."
                )
            if server.started:
                server.restarts += 1  # it died: restart it once
            server.start()
        return server


@atexit.register
def _stop_servers() -> None:
    for server in list(_servers.values()):
        server.stop()
