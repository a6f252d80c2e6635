"""Tools and managed agents as the plain functions an agent's code calls, each call recorded once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._sync import run_sync
from ..errors import ToolError, UserError
from ..events import Event, ToolCall
from ..redact import redact
from ..tools import Tool
from ..tools.tool import _CALL_KEY
from .effects import Effects, pack_value
from .run_state import RunContext, normalize_task

if TYPE_CHECKING:
    from .base import MultiStepAgent

__all__ = ["Delegating"]


class Delegating:
    """What the code calls: tools (their calls recorded as effects, exactly once across resume) and helpers."""

    if TYPE_CHECKING:
        managed_agents: dict[str, MultiStepAgent]

        def _all_tools(self) -> list[Tool]: ...

        def _emit(self, ctx: RunContext, event: Event) -> None: ...

        def _forward(self, ctx: RunContext, event: Event) -> None: ...

    def _functions(self, ctx: RunContext) -> dict[str, Callable[..., Any]]:
        """Tools and managed agents as plain functions that record their calls."""
        functions: dict[str, Callable[..., Any]] = {}
        for item in self._all_tools():
            functions[item.name] = self._tool_function(ctx, item)
        for name, agent in self.managed_agents.items():
            functions[name] = self._agent_function(ctx, name, agent)
        if self.managed_agents:
            functions["parallel"] = _parallel
        return functions

    def _tool_function(self, ctx: RunContext, item: Tool) -> Callable[..., Any]:
        names = list(item.inputs)

        effects = getattr(item, "side_effects", True)

        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            positional = {names[i] if i < len(names) else f"arg{i}": a for i, a in enumerate(args)}
            record: dict[str, Any] = {
                "name": item.name,
                "version": item.version,
                "arguments": {**positional, **kwargs},
                "side_effects": effects,
            }
            if effects:  # a recorded effect: keyed, so a resumed run finds its record (pure tools need none)
                record["key"] = ctx.effects.key(ctx.step, item.name, record["arguments"])
                before = ctx.effects.take(record["key"])
                if before is not None and not (before.phase != "done" and getattr(item, "idempotent", False)):
                    return self._answer_recorded(ctx, record, before)
                self._record_call(ctx, {**record, "duration": 0.0}, None, phase="started")
            token = _CALL_KEY.set(f"{ctx.run_id}/{record['key']}" if effects else None)
            try:
                value = item(*args, **kwargs)
            except Exception as exc:  # recorded as done (with its error), then raised as before
                message = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
                record["error"], record["duration"] = message, time.perf_counter() - start
                self._record_call(ctx, record, None)
                raise
            finally:
                _CALL_KEY.reset(token)
            record["duration"] = time.perf_counter() - start
            self._record_call(ctx, record, value)
            return value

        call.__name__ = item.name
        call.__doc__ = item.description
        return call

    def _agent_function(self, ctx: RunContext, name: str, agent: MultiStepAgent) -> Callable[..., str]:
        def delegate(task: str) -> str:
            try:
                task = normalize_task(task)
            except UserError as exc:
                raise ToolError(f"{name}(task): {exc}") from None
            start = time.perf_counter()
            parent_step = ctx.step
            ledger: dict[str, Any] = {"name": name, "version": "agent", "arguments": {"task": task}, "side_effects": True}
            ledger["key"] = ctx.effects.key(ctx.step, name, ledger["arguments"])
            before = ctx.effects.take(ledger["key"])
            if before is not None:
                return str(self._answer_recorded(ctx, ledger, before))
            self._record_call(ctx, {**ledger, "duration": 0.0}, None, phase="started")
            helper = agent.clone()  # its own run state: the same helper may run several times at once
            # The helper stores its own events; the manager's listeners (and result) see them too.
            helper.listeners.append(lambda e: self._forward(ctx, e))
            result = run_sync(helper.arun(task, parent_run_id=ctx.run_id, parent_step=parent_step, priority=ctx.priority))
            record = {**ledger, "run_id": result.run_id, "duration": time.perf_counter() - start}
            if result.status != "success":
                record["error"] = f"{result.status}: {result.error or 'no final answer'}"
            self._record_call(ctx, record, result.output)
            if result.status == "error":
                raise ToolError(f"the helper {name!r} failed: {result.error}")
            report = str(result.output)
            if result.status != "success":
                report = f"(the helper stopped with status {result.status}) {report}"
            return report

        delegate.__name__ = name
        return delegate

    def _record_call(
        self, ctx: RunContext, record: dict[str, Any], value: Any, *, phase: str = "done", replayed: bool = False
    ) -> None:
        """Emit a ToolCall (the store writes it at once, before a side-effecting tool runs)."""
        packed = None
        if phase == "done" and "error" not in record:
            text = redact(repr(value))
            record["result"] = text if len(text) <= 500 else text[:500] + "..."
            packed = pack_value(value) if record.get("side_effects", True) else None
        if ctx.current is not None and phase == "done":
            ctx.current.tool_calls.append({k: v for k, v in record.items() if k not in ("key", "side_effects")})
        event = ToolCall(
            run_id=ctx.run_id,
            step=ctx.step,
            name=record["name"],
            version=record["version"],
            arguments={k: redact(repr(v))[:200] for k, v in record["arguments"].items()},
            result=record.get("result"),
            error=record.get("error"),
            duration=record["duration"],
            key=record.get("key", ""),
            phase=phase,
            value=packed,
            side_effects=record.get("side_effects", True),
            replayed=replayed,
        )
        if phase == "done":
            self._emit(ctx, event)
        else:
            # "started" is for the run's record alone (written before the tool runs); the result,
            # the tracer and listeners see one event per call, when it is done.
            ctx.bus.publish(event, record_only=True)

    def _answer_recorded(self, ctx: RunContext, record: dict[str, Any], before: ToolCall) -> Any:
        """A call the crashed attempt of this step had made: answered from its record, not run."""
        try:
            value = Effects.answer(before)
        except ToolError as exc:
            self._record_call(ctx, {**record, "error": str(exc), "duration": 0.0}, None, replayed=True)
            raise
        self._record_call(ctx, {**record, "duration": 0.0}, value, replayed=True)
        return value


def _parallel(calls: Any) -> list[Any]:
    """`parallel([(helper, "task"), (other, "task")])`: run helpers at the same time.

    Their answers come back in order; a helper that fails gives its error message as its answer.
    """
    from concurrent.futures import ThreadPoolExecutor

    pairs = list(calls)
    if not pairs or not all(isinstance(p, (tuple, list)) and len(p) == 2 and callable(p[0]) for p in pairs):
        raise ToolError(
            "parallel() takes a list of (helper, task) pairs, e.g. parallel([(researcher, 'find X'), (coder, 'compute Y')])"
        )

    def one(pair: Any) -> Any:
        fn, task = pair
        try:
            return fn(task)
        except ToolError as exc:
            return f"error: {exc}"

    with ThreadPoolExecutor(max_workers=len(pairs), thread_name_prefix="smolnb-parallel") as pool:
        return list(pool.map(one, pairs))
