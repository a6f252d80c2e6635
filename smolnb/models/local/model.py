"""`LocalModel`: a `local/<name>` model, called through the OpenAI-compatible client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import ModelError, UserError
from ...events import Usage
from ..base import Message, Model, ModelResponse
from ..openai_api import OpenAIAPIModel
from .server import LlamaServer, _server_for, _servers
from .weights import _spec, ensure_weights

__all__ = ["LocalModel"]


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
