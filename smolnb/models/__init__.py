"""Models: one interface, litellm for every provider, local models, and test doubles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import default_model
from ..errors import UserError
from .base import Message, Model, ModelResponse, ToolCallRequest
from .litellm_model import LiteLLMModel
from .openai_api import OpenAIAPIModel
from .testing import FunctionModel, TestModel

__all__ = [
    "FunctionModel",
    "LiteLLMModel",
    "Message",
    "Model",
    "ModelResponse",
    "OpenAIAPIModel",
    "TestModel",
    "ToolCallRequest",
    "get_model",
    "register_backend",
    "register_model",
]

_REGISTRY: dict[str, Model | Any] = {}


def _local(spec: str, params: dict[str, Any]) -> Model:
    from .local import LocalModel  # llama.cpp: imported when a local model is named

    return LocalModel(spec, **params)


# How a model string becomes a Model: the first prefix that matches picks the factory; a string
# no prefix claims is a litellm `provider/model`. `register_backend` adds one.
_BACKENDS: dict[str, Callable[[str, dict[str, Any]], Model]] = {
    "local/": _local,
    "openai-api/": lambda spec, params: OpenAIAPIModel.from_spec(spec, **params),
}


def register_backend(prefix: str, factory: Callable[[str, dict[str, Any]], Model]) -> None:
    """Model strings starting with `prefix` are made by `factory(spec, params)` from now on."""
    _BACKENDS[prefix] = factory


def register_model(name: str, model: Model | Any) -> None:
    """Make `model` (a `Model`, or a function returning one) available by `name`, e.g. in `%%agent -m name`.

    A registered `Model` takes `name` as its id, so stored runs name it the way it can be found again.
    """
    if isinstance(model, Model):
        model.model_id = name
    _REGISTRY[name] = model


def get_model(spec: str | Model | None = None, **params: Any) -> Model:
    """Turn a model string (or None, for the default) into a `Model`.

    `local/<name>` and paths to `.gguf` files are run by smolnb itself with llama.cpp;
    `openai-api/<service>/<model>` goes straight to an OpenAI-compatible server
    (`<SERVICE>_BASE_URL`, `<SERVICE>_API_KEY`); `test` is the scripted test model; a prefix
    added with `register_backend` picks its own; any other string is a litellm model name.
    """
    if isinstance(spec, Model):
        return spec
    spec = spec or default_model()
    if isinstance(spec, str) and spec in _REGISTRY:
        entry = _REGISTRY[spec]
        return entry if isinstance(entry, Model) else entry()
    if not isinstance(spec, str) or not spec.strip():
        raise UserError(f"model must be a model string such as 'openai/gpt-4o-mini' or a Model, not {spec!r}")
    if spec == "test":
        return TestModel(**params)  # the scripted test double: enqueue its replies
    if spec.endswith(".gguf"):
        return _local(spec, params)
    for prefix, factory in _BACKENDS.items():
        if spec.startswith(prefix):
            return factory(spec, params)
    if "/" not in spec:
        raise UserError(
            f"unknown model {spec!r}: name it as litellm does, 'provider/model' "
            f"(e.g. 'openai/gpt-4o-mini', 'ollama/qwen2.5-coder'), or 'local/qwen2.5-coder-0.5b'"
        )
    return LiteLLMModel(spec, **params)
