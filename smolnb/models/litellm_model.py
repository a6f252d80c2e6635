"""Any model litellm can reach, named by a litellm string (`provider/model`)."""

from __future__ import annotations

import os
from typing import Any

from ..errors import MissingExtraError, ModelError, TransientModelError
from ..events import Usage
from .base import Message, ModelResponse, ToolCallRequest
from .http import HTTPModel, flatten_content, retryable_status, tool_arguments

__all__ = ["LiteLLMModel", "flatten_content"]


def _litellm() -> Any:
    # litellm otherwise tries to fetch a cost map from the internet on import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from .._imports import import_whole

    try:
        litellm = import_whole("litellm")  # an interrupt mid-import leaves nothing half made behind
    except ImportError as exc:  # pragma: no cover - litellm is a core dependency
        raise MissingExtraError("all", "litellm", "LiteLLMModel") from exc
    setattr(litellm, "suppress_debug_info", True)  # not in its stubs
    return litellm


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _is_transient(exc: BaseException, litellm: Any) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (ImportError, TypeError)):
            return False  # a broken install or a bad argument: retrying cannot help
        cause = cause.__cause__ or cause.__context__
    transient = tuple(
        getattr(litellm, name)
        for name in ("APIConnectionError", "Timeout", "RateLimitError", "InternalServerError", "ServiceUnavailableError")
        if hasattr(litellm, name)
    )
    status = _status(exc)
    if status is not None:
        return retryable_status(status)
    return isinstance(exc, transient)


class LiteLLMModel(HTTPModel):
    """A model reached through litellm: `openai/gpt-4o-mini`, `mistral/mistral-small-latest`, ...

    Calls are async (`litellm.acompletion`). Rate limits, 5xx answers, timeouts and dropped
    connections are retried with exponential backoff (honouring `Retry-After`); any other
    error is raised at once as `ModelError`. `openai/<name>` honours `OPENAI_BASE_URL` (or
    `OPENAI_API_BASE`) and `OPENAI_API_KEY`.

    Args:
        model_id: the litellm model string.
        api_base: the server's base URL, when not the provider's default.
        api_key: the key, when not taken from the provider's environment variable.
        max_retries: retries of a transient failure before giving up.
        timeout: seconds for one request.
        flatten: send message content as plain text rather than a list of parts.
        **params: passed to every call (temperature, max_tokens, ...).
    """

    def __init__(
        self,
        model_id: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_retries: int = 4,
        timeout: float = 600.0,
        backoff: float = 1.0,
        flatten: bool = True,
        **params: Any,
    ) -> None:
        self.model_id = model_id
        if api_base is None and model_id.startswith("openai/"):
            api_base = os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
        super().__init__(
            api_base=api_base,
            api_key=api_key,
            max_retries=max_retries,
            timeout=timeout,
            backoff=backoff,
            flatten=flatten,
            **params,
        )

    async def agenerate(
        self,
        messages: list[Message],
        *,
        stop: list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        litellm = _litellm()
        request: dict[str, Any] = {
            "model": self.model_id,
            "messages": self._messages(messages),
            "timeout": self.timeout,
            "num_retries": 0,
            "max_retries": 0,
            **self.params,
            **kwargs,
        }
        if stop:
            request["stop"] = stop
        if tools:
            request["tools"] = tools
            # litellm routes tool lists through its MCP bridge, which needs the `mcp` package;
            # smolnb does not use that bridge.
            request["_skip_mcp_handler"] = True
        if self.api_base:
            request["api_base"] = self.api_base
        if self._api_key:
            request["api_key"] = self._api_key

        def classify(exc: Exception) -> ModelError:
            if _is_transient(exc, litellm):
                return TransientModelError(f"{self.model_id}: {_message(exc)}", retry_after=_retry_after(exc))
            return ModelError(f"{self.model_id}: {_message(exc)}")

        async def call() -> ModelResponse:
            return _parse(await litellm.acompletion(**request))

        return await self._with_retries(call, classify)


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 600 else text[:600] + " ..."


def _parse(response: Any) -> ModelResponse:
    choice = response.choices[0]
    message = choice.message
    calls: list[ToolCallRequest] = []
    for call in getattr(message, "tool_calls", None) or []:
        arguments = tool_arguments(call.function.arguments)
        calls.append(ToolCallRequest(id=call.id or f"call_{len(calls)}", name=call.function.name, arguments=arguments))
    usage = getattr(response, "usage", None)
    return ModelResponse(
        content=message.content or "",
        tool_calls=calls,
        usage=Usage(
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        ),
        raw=response,
    )
