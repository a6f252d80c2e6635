"""OpenTelemetry tracing of agent runs, in the OpenInference conventions Arize Phoenix reads.

Off by default and free when off (one empty-list check per event). On with one call,

    import smolnb.tracing
    smolnb.tracing.enable()                       # OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
    smolnb.tracing.enable(exporter=InMemorySpanExporter())

or by the standard environment: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set and `OTEL_SDK_DISABLED` not true turns it on at the
first run; `OTEL_SERVICE_NAME` names the service (default "smolnb").

Spans, built from the run's events: AGENT per run (a managed agent's run nests under the step
that called it), CHAIN per step, LLM per model call (model name, input and output messages,
token counts, invocation parameters), TOOL per tool call, RETRIEVER for memory searches and
CHAIN "python" per code execution. Errors set the span status and an exception event. Every
string goes through `smolnb.redact` first.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import threading
from typing import Any

from .config import setting
from .errors import MissingExtraError
from .events import Event, ModelCall, RunEnd, RunStart, Step, StepStart, ToolCall
from .redact import redact

__all__ = ["SpanBuilder", "disable", "enable", "enable_from_env", "hooks", "span", "trace_id", "trace_url", "tracer"]

# Listeners every agent calls with each event it emits itself (not the ones it forwards from a
# managed agent, which that agent already emitted). Empty when tracing is off.
hooks: list[Any] = []

MEMORY_SEARCH_TOOLS = {"search_memory", "query_graph"}
MEMORY_TOOLS = MEMORY_SEARCH_TOOLS | {"store_memory", "add_fact", "increment_counter"}

_state: dict[str, Any] = {"tracer": None, "provider": None, "listener": None, "env_checked": False}
_lock = threading.Lock()


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _text(value: Any, limit: int = 20_000) -> str:
    if not isinstance(value, str):
        try:
            value = json.dumps(value, default=str)
        except (TypeError, ValueError):
            value = repr(value)
    return redact(value[:limit])


class SpanBuilder:
    """Turns the event stream of runs into spans. One instance serves every run."""

    def __init__(self, tracer: Any) -> None:
        from opentelemetry import trace

        self.trace = trace
        self.tracer = tracer
        self.runs: dict[str, Any] = {}  # run_id -> run span
        self.steps: dict[str, Any] = {}  # run_id -> open step span
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            with self._lock:
                handler(event)

    def _parent(self, run_id: str | None) -> Any:
        if run_id is None:
            return None
        span = self.steps.get(run_id) or self.runs.get(run_id)
        return self.trace.set_span_in_context(span) if span is not None else None

    def _on_run_start(self, e: RunStart) -> None:
        context = self._parent(e.parent_run_id)
        token = _trace_seed.set(e.run_id if context is None else None)  # a top-level run: its trace id comes from its run id
        try:
            span = self._start_run_span(e, context)
        finally:
            _trace_seed.reset(token)
        self.runs[e.run_id] = span

    def _start_run_span(self, e: RunStart, context: Any) -> Any:
        return self.tracer.start_span(
            f"{e.agent or e.agent_type or 'agent'}",
            context=context,
            start_time=_ns(e.ts),
            attributes={
                "openinference.span.kind": "AGENT",
                "input.value": _text(e.task),
                "input.mime_type": "text/plain",
                "smolnb.run_id": e.run_id,
                "smolnb.agent_type": e.agent_type,
                "llm.model_name": e.model,
                "smolnb.tools": _text(e.tools),
                **({"smolnb.parent_run_id": e.parent_run_id} if e.parent_run_id else {}),
            },
        )

    def _on_step_start(self, e: StepStart) -> None:
        run = self.runs.get(e.run_id)
        if run is None:
            return
        self.steps[e.run_id] = self.tracer.start_span(
            f"step {e.step}" + (f" ({e.kind})" if e.kind != "action" else ""),
            context=self.trace.set_span_in_context(run),
            start_time=_ns(e.ts),
            attributes={"openinference.span.kind": "CHAIN", "smolnb.step": e.step, "smolnb.step_kind": e.kind},
        )

    def _on_model_call(self, e: ModelCall) -> None:
        attributes: dict[str, Any] = {
            "openinference.span.kind": "LLM",
            "llm.model_name": e.model,
            "smolnb.purpose": e.purpose,
            "llm.token_count.prompt": e.usage.input_tokens,
            "llm.token_count.completion": e.usage.output_tokens,
            "llm.token_count.total": e.usage.input_tokens + e.usage.output_tokens,
            "llm.invocation_parameters": _text(e.params),
            "input.mime_type": "application/json",
            "input.value": _text(e.messages),
            "output.value": _text(e.output),
            "output.mime_type": "text/plain",
        }
        for i, message in enumerate(e.messages):
            attributes[f"llm.input_messages.{i}.message.role"] = str(message.get("role", ""))
            attributes[f"llm.input_messages.{i}.message.content"] = _text(message.get("content", ""))
        attributes["llm.output_messages.0.message.role"] = "assistant"
        attributes["llm.output_messages.0.message.content"] = _text(e.output)
        self._closed_span(f"{e.model}", e, e.duration, attributes, e.error)

    def _on_tool_call(self, e: ToolCall) -> None:
        kind = "RETRIEVER" if e.name in MEMORY_SEARCH_TOOLS else "AGENT" if e.version == "agent" else "TOOL"
        if kind == "AGENT":
            return  # the managed agent's own run is the span
        attributes = {
            "openinference.span.kind": kind,
            "tool.name": e.name,
            "tool.parameters": _text(e.arguments),
            "input.value": _text(e.arguments),
            "input.mime_type": "application/json",
            "output.value": _text(e.result or ""),
            "smolnb.tool_version": e.version,
            "smolnb.memory": e.name in MEMORY_TOOLS,
        }
        self._closed_span(e.name, e, e.duration, attributes, e.error)

    def _on_step(self, e: Step) -> None:
        span = self.steps.pop(e.run_id, None)
        if span is None:
            return
        if e.code is not None:
            end = e.start + e.model_duration + e.exec_duration if e.start else e.ts
            self._closed_span(
                "python",
                e,
                e.exec_duration,
                {
                    "openinference.span.kind": "CHAIN",
                    "input.value": _text(e.code),
                    "input.mime_type": "text/x-python",
                    "output.value": _text(e.observation or e.stdout),
                    "smolnb.stdout": _text(e.stdout),
                },
                e.error,
                end=end,
                parent=span,
            )
        span.set_attribute("output.value", _text(e.observation or e.model_output))
        span.set_attribute("llm.token_count.prompt", e.usage.input_tokens)
        span.set_attribute("llm.token_count.completion", e.usage.output_tokens)
        if e.error:
            self._error(span, e.error, e.error_kind)
        span.end(end_time=_ns(e.ts))

    def _on_run_end(self, e: RunEnd) -> None:
        step = self.steps.pop(e.run_id, None)
        if step is not None:  # interrupted mid-step
            step.end(end_time=_ns(e.ts))
        span = self.runs.pop(e.run_id, None)
        if span is None:
            return
        span.set_attribute("smolnb.status", e.status)
        span.set_attribute("output.value", _text(e.output if e.output is not None else ""))
        span.set_attribute("llm.token_count.prompt", e.usage.input_tokens)
        span.set_attribute("llm.token_count.completion", e.usage.output_tokens)
        span.set_attribute("smolnb.steps", e.steps)
        if e.status != "success":
            self._error(span, e.error or e.status, e.status)
        span.end(end_time=_ns(e.ts))

    def _closed_span(
        self,
        name: str,
        e: Event,
        duration: float,
        attributes: dict[str, Any],
        error: str | None,
        end: float | None = None,
        parent: Any = None,
    ) -> None:
        end = e.ts if end is None else end
        parent = parent if parent is not None else self.steps.get(e.run_id) or self.runs.get(e.run_id)
        context = self.trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(name, context=context, start_time=_ns(end - duration), attributes=attributes)
        if error:
            self._error(span, error, None)
        span.end(end_time=_ns(end))

    def _error(self, span: Any, message: str, kind: str | None) -> None:
        from opentelemetry.trace import Status, StatusCode

        text = _text(message, 4000)
        span.set_status(Status(StatusCode.ERROR, text))
        span.add_event("exception", {"exception.type": kind or "error", "exception.message": text})


_trace_seed: contextvars.ContextVar[str | None] = contextvars.ContextVar("smolnb_trace_seed", default=None)


def trace_id(run_id: str) -> str:
    """The trace id of a top-level run (32 hex digits), derived from its run id.

    A trace viewer can so be opened on any stored run, in this process or a later one, and a
    resumed run goes on in the same trace.
    """
    return hashlib.sha256(run_id.encode()).hexdigest()[:32]


def trace_url(run_id: str, viewer: str | None = None) -> str | None:
    """The run's trace in the viewer at `viewer` (default SMOLNB_PHOENIX_URL), or None without one."""
    base = viewer or setting("SMOLNB_PHOENIX_URL")
    return f"{base.rstrip('/')}/redirects/traces/{trace_id(run_id)}" if base else None


def _id_generator() -> Any:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class RunIds(RandomIdGenerator):
        def generate_trace_id(self) -> int:
            seed = _trace_seed.get()
            return int(trace_id(seed), 16) if seed else int(super().generate_trace_id())

    return RunIds()


def enable(
    exporter: Any = None, *, endpoint: str | None = None, service_name: str | None = None, batch: bool | None = None
) -> Any:
    """Trace every run from now on.

    `exporter`: any span exporter (default OTLP/HTTP to `endpoint` or OTEL_EXPORTER_OTLP_ENDPOINT). Returns the tracer provider
    (call its `force_flush()`).
    """
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        raise MissingExtraError("otel", "opentelemetry-sdk", "tracing") from exc
    if exporter is None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise MissingExtraError("otel", "opentelemetry-exporter-otlp-proto-http", "OTLP export") from exc
        if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        exporter = OTLPSpanExporter(endpoint=endpoint)
        batch = True if batch is None else batch
    with _lock:
        disable()
        name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "smolnb"
        # Phoenix files spans by `openinference.project.name`: one project per service
        resource = Resource.create({"service.name": name, "openinference.project.name": name})
        provider = TracerProvider(resource=resource, id_generator=_id_generator())
        provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
        builder = SpanBuilder(provider.get_tracer("smolnb"))
        _state.update(tracer=builder.tracer, provider=provider, listener=builder)
        hooks.append(builder)
    return provider


def disable() -> None:
    """Stop tracing (spans already ended are flushed)."""
    listener, provider = _state.get("listener"), _state.get("provider")
    if listener in hooks:
        hooks.remove(listener)
    if provider is not None:
        provider.shutdown()
    _state.update(tracer=None, provider=None, listener=None)


def enable_from_env() -> None:
    """Called at the first run: the standard OTEL_* variables turn tracing on."""
    if _state["env_checked"]:
        return
    _state["env_checked"] = True
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true" or _state["tracer"] is not None:
        return
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        enable()


def tracer() -> Any:
    return _state["tracer"]


class _NoSpan:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_NO_SPAN = _NoSpan()


def span(name: str, kind: str, run_id: str | None = None, **attributes: Any) -> Any:
    """A span around a block (memory operations use it).

    Under the open step of run `run_id` when there is one; nothing at all when tracing is off.
    """
    active = _state["tracer"]
    if active is None:
        return _NO_SPAN
    builder = _state["listener"]
    context = builder._parent(run_id) if builder is not None else None
    clean = {k: (_text(v) if isinstance(v, str) else v) for k, v in attributes.items()}
    return active.start_as_current_span(
        name, context=context, attributes={"openinference.span.kind": kind, **clean}, record_exception=True
    )
