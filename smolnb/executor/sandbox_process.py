"""The sandbox's child processes: the layers this machine offers, one confined worker, and the pool that starts them.

`SandboxExecutor` (in `sandbox`) runs code blocks in these workers.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..config import count_setting
from ..errors import BackendError, UserError
from . import wire
from .base import package_root, worker_pythonpath

__all__ = ["DEFAULT_MEMORY_MB", "REQUIRED_LAYERS", "SandboxUnavailable", "pool", "sandbox_layers"]

REQUIRED_LAYERS = ("landlock", "seccomp", "seccomp-worker")


class SandboxUnavailable(UserError):  # noqa: N818 - a UserError the user reads as a sentence
    """A layer the sandbox needs is missing on this machine."""


def sandbox_layers() -> dict[str, str]:
    """What this machine offers the sandbox: layer -> "on" or why not."""
    layers: dict[str, str] = {}
    try:
        import sandlock

        abi = sandlock.landlock_abi_version()
        need = sandlock.min_landlock_abi()
        layers["landlock"] = "on" if abi >= need else f"off: Landlock ABI {abi}, sandlock needs {need} (Linux 6.7+)"
        layers["seccomp"] = layers["landlock"]
    except ImportError:
        why = "off: sandlock is not installed (pip install 'smolnb[sandbox]')"
        layers["landlock"] = layers["seccomp"] = why
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError) as exc:
        layers["seccomp-worker"] = f"off: pyseccomp unavailable ({exc}); pip install 'smolnb[sandbox]' and libseccomp2"
    else:
        layers["seccomp-worker"] = "on"
    return layers


def _read_paths() -> list[str]:
    """What the worker may read: Python, its packages, system libraries; not $HOME, not /proc."""
    import site
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)}
    paths |= set(site.getsitepackages()) | {site.getusersitepackages()}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(package_root())  # the smolnb the worker runs (a checkout's source tree)
    paths |= {"/usr/lib", "/usr/lib64", "/usr/share/zoneinfo", "/lib", "/lib64", "/etc/localtime", "/dev/null", "/dev/urandom"}
    return sorted(p for p in paths if p and os.path.exists(p))


_LIBS: dict[str, str] | None = None


def _libraries() -> dict[str, str]:
    """Absolute paths of libc and libseccomp: inside the sandbox, `find_library` cannot run `ldconfig`."""
    global _LIBS
    if _LIBS is None:
        import ctypes.util
        import sysconfig

        arch = sysconfig.get_config_var("MULTIARCH") or ""
        dirs = [f"/lib/{arch}", f"/usr/lib/{arch}", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
        _LIBS = {}
        for name in ("c", "seccomp"):
            soname = ctypes.util.find_library(name)
            for d in dirs:
                if soname and os.path.exists(os.path.join(d, soname)):
                    _LIBS[name] = os.path.join(d, soname)
                    break
    return _LIBS


class _Worker:
    """One confined child process and its scratch directory."""

    def __init__(self, *, memory_mb: int, allow_weaker: bool, read_paths: tuple[str, ...] = ()) -> None:
        self.scratch = tempfile.mkdtemp(prefix="smolnb-sandbox-")
        self.layers = sandbox_layers()
        self.proc: Any = None
        self.sandbox: Any = None
        self.started = time.perf_counter()
        missing = [f"{k} ({v[5:]})" for k, v in self.layers.items() if k in REQUIRED_LAYERS and v != "on"]
        if missing and not allow_weaker:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise SandboxUnavailable(
                "the sandbox cannot start with every layer: " + "; ".join(missing) + ". Fix that, or pass "
                "allow_weaker=True (SandboxExecutor) to run with what there is; executor.layers says what holds."
            )
        env = {
            "HOME": self.scratch,
            "TMPDIR": self.scratch,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": worker_pythonpath(),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "_SMOLNB_SANDBOX_PATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
            "_SMOLNB_SANDBOX_LIBS": ",".join(f"{k}={v}" for k, v in _libraries().items()),
            "_SMOLNB_SANDBOX_LAYERS": ",".join(
                f"{k}={'on' if v == 'on' else 'off'}" for k, v in self.layers.items() if k != "seccomp-worker"
            ),
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # machine facts, not secrets
            if key in os.environ:
                env[key] = os.environ[key]
        argv = [sys.executable, "-s", "-m", "smolnb.executor._sandbox_worker"]
        if self.layers["landlock"] == "on":
            from sandlock import Sandbox
            from sandlock.sandbox import StdioMode

            self.sandbox = Sandbox(
                fs_readable=sorted({*_read_paths(), *read_paths}),
                fs_writable=[self.scratch],
                cwd=self.scratch,
                clean_env=True,
                env=env,
                max_memory=memory_mb << 20,
                max_open_files=256,
            )
            self.proc = self.sandbox.popen(argv, stdin=StdioMode.PIPED, stdout=StdioMode.PIPED, stderr=StdioMode.INHERIT)
            self.fd_in, self.fd_out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
            self.pid = self.proc.pid
        else:
            import subprocess

            self.proc = subprocess.Popen(  # noqa: S603 - our own worker module
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=self.scratch, env={"PATH": "/usr/bin:/bin", **env}
            )
            self.fd_in, self.fd_out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
            self.pid = self.proc.pid
        wire.enlarge_pipe(self.fd_in)
        wire.enlarge_pipe(self.fd_out)
        ready, _ = self.receive(timeout=60)
        if ready.get("op") != "ready":
            self.kill()
            raise BackendError(f"the sandbox worker did not start: {ready}")
        self.layers.update({k: v for k, v in ready["layers"].items() if k == "seccomp-worker"})
        if self.layers["seccomp-worker"] != "on" and not allow_weaker:
            self.kill()
            raise SandboxUnavailable(f"the sandbox worker could not add its seccomp layer ({self.layers['seccomp-worker']})")
        self.start_seconds = time.perf_counter() - self.started

    def send(self, header: dict[str, Any], blobs: list[Any] = ()) -> None:  # type: ignore[assignment]
        wire.write_message(self.fd_in, header, list(blobs))

    def receive(self, timeout: float | None = None) -> tuple[dict[str, Any], list[bytearray]]:
        if timeout is not None:
            ready, _, _ = select.select([self.fd_out], [], [], max(timeout, 0))
            if not ready:
                raise TimeoutError
        return wire.read_message(self.fd_out)

    def alive(self) -> bool:
        if self.proc is None:
            return False
        if self.sandbox is not None:
            return self.proc.pid is not None and _pid_alive(self.pid)
        return self.proc.poll() is None

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.kill()
            except (RuntimeError, ProcessLookupError, OSError):
                pass
            try:
                proc.wait(timeout=5)
            except Exception:  # noqa: BLE001, S110 - reaped by whoever is left
                pass
            for stream in (getattr(proc, "stdin", None), getattr(proc, "stdout", None)):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        shutil.rmtree(self.scratch, ignore_errors=True)

    def close(self) -> None:
        if self.alive():
            try:
                self.send({"op": "close"})
            except OSError:
                pass
        self.kill()


def _pid_alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0  # not our child (sandlock's supervisor reaps it): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid)
    return waited == 0


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0].lower()
    except (OSError, IndexError):
        return "zombie"


class _Pool:
    """Pre-started workers with the default limits, and the one thread that starts every worker.

    sandlock's children get SIGKILL when the thread that spawned them ends (PDEATHSIG follows
    the thread), so workers are spawned by a thread that lives as long as the process, never
    by a run's short-lived worker thread.
    """

    def __init__(self, size: int | None = None) -> None:
        self._size = size
        self.idle: list[_Worker] = []
        self.lock = threading.Lock()
        self.jobs: Any = None
        self.thread: threading.Thread | None = None

    @property
    def size(self) -> int:
        """How many idle workers to keep: `SMOLNB_SANDBOX_POOL` (0 keeps none), read at first use."""
        if self._size is None:
            found = count_setting("SMOLNB_SANDBOX_POOL", "how many sandbox workers to keep started (0 or more)", minimum=0)
            self._size = 1 if found is None else found
        return self._size

    def _spawner(self) -> Any:
        import queue

        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.jobs = queue.SimpleQueue()
                self.thread = threading.Thread(target=self._serve, args=(self.jobs,), name="smolnb-sandbox-spawner", daemon=True)
                self.thread.start()
            return self.jobs

    @staticmethod
    def _serve(jobs: Any) -> None:
        while True:
            job = jobs.get()
            job()

    def _spawn(self, **options: Any) -> _Worker:
        """A new worker, started by the spawner thread; raises what starting it raised."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def job() -> None:
            try:
                box["worker"] = _Worker(**options)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            done.set()

        self._spawner().put(job)
        done.wait()
        if "error" in box:
            raise box["error"]
        worker: _Worker = box["worker"]
        return worker

    def take(self, *, memory_mb: int, allow_weaker: bool, read_paths: tuple[str, ...] = ()) -> _Worker:
        worker = None
        if memory_mb == DEFAULT_MEMORY_MB and not allow_weaker and not read_paths:
            with self.lock:
                while self.idle and worker is None:
                    candidate = self.idle.pop()
                    worker = candidate if candidate.alive() else None
        if worker is None:
            worker = self._spawn(memory_mb=memory_mb, allow_weaker=allow_weaker, read_paths=read_paths)
        self.refill()
        return worker

    def refill(self) -> None:
        if self.size > 0:
            self._spawner().put(self._fill)

    def _fill(self) -> None:
        with self.lock:
            if len(self.idle) >= self.size:
                return
        try:
            worker = _Worker(memory_mb=DEFAULT_MEMORY_MB, allow_weaker=False)
        except Exception:  # noqa: BLE001 - the next take() starts one and reports why
            return
        with self.lock:
            self.idle.append(worker)

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.close()


DEFAULT_MEMORY_MB = 4096
pool = _Pool()
atexit.register(pool.close)
