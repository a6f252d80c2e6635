"""Models: one interface, litellm for every provider, local models, and test doubles."""

from __future__ import annotations

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
    "register_model",
]

_REGISTRY: dict[str, Model | Any] = {}


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
    (`<SERVICE>_BASE_URL`, `<SERVICE>_API_KEY`); any other string is a litellm model name.
    """
    if isinstance(spec, Model):
        return spec
    spec = spec or default_model()
    if isinstance(spec, str) and spec in _REGISTRY:
        entry = _REGISTRY[spec]
        return entry if isinstance(entry, Model) else entry()
    if not isinstance(spec, str) or not spec.strip():
        raise UserError(f"model must be a model string such as 'openai/gpt-4o-mini' or a Model, not {spec!r}")
    if spec.startswith("local/") or spec.endswith(".gguf"):
        from .local import LocalModel

        return LocalModel(spec, **params)
    if spec.startswith("openai-api/"):
        return OpenAIAPIModel.from_spec(spec, **params)
    if "/" not in spec:
        raise UserError(
            f"unknown model {spec!r}: name it as litellm does, 'provider/model' "
            f"(e.g. 'openai/gpt-4o-mini', 'ollama/qwen2.5-coder'), or 'local/qwen2.5-coder-0.5b'"
        )
    return LiteLLMModel(spec, **params)
