"""The step loop shared by both agents. Async at its core; it emits events and never prints."""

from __future__ import annotations

import asyncio
import copy
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from .. import tracing
from .._sync import loop_run_ended, loop_run_started, run_sync
from ..errors import ModelError, TransientModelError, UserError
from ..events import Event, Live, ModelCall, RunEnd, Step, StepStart
from ..logs import logger
from ..models import Message, Model, ModelResponse, ToolCallRequest, get_model
from ..protocols import AgentMemory, StoreOption
from ..redact import add_secret, is_secret_name, redact, redact_messages
from ..scheduling import scheduler
from ..tools import Tool, ToolSet
from . import prompts
from .confidence import how_reached
from .configuration import Configurable
from .delegation import Delegating
from .remembering import Remembering
from .result import ErrorKind, RunResult, Status
from .resuming import Resumable, store_option
from .run_state import Listener, RunContext, new_run_id, normalize_task

__all__ = ["MultiStepAgent", "RunContext"]


class MultiStepAgent(Remembering, Resumable, Configurable, Delegating, ABC):
    """What `CodeAgent` and `ToolCallingAgent` share: model, tools, limits, events.

    Args:
        model: a litellm model string, `local/<name>`, or a `Model`; None for the default.
        tools: `Tool` objects or `@tool` functions.
        memory: a `Memory`, or None.
        max_steps: steps before the agent is asked for its best answer.
        planning_interval: run a planning step every N steps (None: never).
        managed_agents: agents with `name` and `description` this agent can delegate to.
        name: how a manager calls this agent.
        description: what this agent is good for, shown to a manager.
        listeners: callables that receive every event of every run.
        max_observation_chars: longer observations are cut in the prompt (kept whole in the step).
        model_params: passed to every model call (e.g. `{"temperature": 0}`).
    """

    agent_type = "agent"

    def __init__(
        self,
        model: str | Model | None = None,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        memory: AgentMemory | None = None,
        max_steps: int = 10,
        planning_interval: int | None = None,
        managed_agents: Iterable[MultiStepAgent] = (),
        name: str | None = None,
        description: str | None = None,
        *,
        listeners: Iterable[Listener] = (),
        max_observation_chars: int = 4000,
        model_params: dict[str, Any] | None = None,
        system_prompt: str | None = None,
        store: StoreOption = "default",
        priority: int = 0,
        extract_facts: bool = False,
    ) -> None:
        if max_steps < 1:
            raise UserError(f"max_steps must be at least 1, got {max_steps}")
        if planning_interval is not None and planning_interval < 1:
            raise UserError(f"planning_interval must be a positive number of steps or None, got {planning_interval}")
        if name is not None and not name.isidentifier():
            raise UserError(f"an agent's name must be a Python identifier (a manager calls it as code), got {name!r}")
        self.model = get_model(model)
        self.tools = tools if isinstance(tools, ToolSet) else ToolSet(tools)
        self.memory = memory
        self.max_steps = max_steps
        self.planning_interval = planning_interval
        self.name = name
        self.description = description
        self.managed_agents: dict[str, MultiStepAgent] = {}
        for agent in managed_agents:
            if not agent.name or not agent.description:
                raise UserError("a managed agent needs name= and description=, so the manager knows how to call it")
            if agent.name in self.managed_agents or agent.name in self.tools:
                raise UserError(f"two helpers are named {agent.name!r}: give each managed agent and tool its own name")
            self.managed_agents[agent.name] = agent
        self.listeners: list[Listener] = list(listeners)
        self.max_observation_chars = max_observation_chars
        self.model_params = dict(model_params or {})
        for key, value in self.model_params.items():
            if is_secret_name(key) and isinstance(value, str):
                add_secret(value)
        self.system_prompt = system_prompt
        self.store = store_option(store)
        self.priority = priority
        self.extract_facts = extract_facts
        self.last_result: RunResult | None = None
        self._active = False
        self._resolved_revision = -1
        self._memory_tools: list[Tool] = []
        self._memory_meta: dict[str, Any] = {}

    # -- public API ---------------------------------------------------------------------------

    def run(self, task: str, **kwargs: Any) -> RunResult:
        """Run the agent on `task` and return its result; works inside Jupyter's loop too.

        An interrupt (Ctrl-C, the kernel's stop button) ends the run with status "interrupted".
        """
        try:
            return run_sync(self.arun(task, **kwargs))
        except KeyboardInterrupt:
            if self.last_result is not None and self.last_result.status == "interrupted":
                return self.last_result
            raise

    async def arun(
        self,
        task: str,
        *,
        max_steps: int | None = None,
        parent_run_id: str | None = None,
        parent_step: int | None = None,
        variables: dict[str, Any] | None = None,
        priority: int | None = None,
    ) -> RunResult:
        """Run the agent on `task` (async).

        Many runs of one agent may go at once (each beyond the first runs on a `clone()`); `priority` (default: the agent's)
        orders their model calls.
        """
        task = normalize_task(task)
        if self._active:
            return await self.clone().arun(
                task,
                max_steps=max_steps,
                parent_run_id=parent_run_id,
                parent_step=parent_step,
                variables=variables,
                priority=priority,
            )
        self._active = True
        try:
            self._check_tools()
            tracing.enable_from_env()
            ctx = RunContext(run_id=new_run_id(), task=task.strip(), priority=self.priority if priority is None else priority)
            self._attach_bus(ctx, None)
            self._emit(ctx, self._run_start(ctx, parent_run_id, parent_step))
            return await self._drive(ctx, (max_steps or self.max_steps), variables or {})
        finally:
            self._active = False

    def clone(self) -> MultiStepAgent:
        """A twin for a concurrent run: same model, tools, memory and settings; its own run state."""
        twin = copy.copy(self)
        twin.listeners = list(self.listeners)
        twin._memory_tools, twin._memory_meta = [], {}
        twin._active, twin.last_result = False, None
        return twin

    def _all_tools(self) -> list[Tool]:
        return list(self.tools) + list(self._memory_tools)

    def _check_tools(self) -> None:
        """Fail fast, before any model call, when the tools miss tools or packages they need."""
        if len(self.tools) and self._resolved_revision != self.tools.revision:
            self.tools.resolve()
            self._resolved_revision = self.tools.revision

    async def _drive(self, ctx: RunContext, limit: int, variables: dict[str, Any]) -> RunResult:
        status: Status = "max_steps"
        output: Any = None
        error: str | None = None
        error_kind: ErrorKind | None = None
        interrupted: BaseException | None = None
        ctx.limit = limit
        loop = asyncio.get_running_loop()
        loop_run_started(loop)
        try:
            self._attach_memory(ctx)
            await self._start_run(ctx, variables)
            while ctx.step < limit:
                ctx.step += 1
                if self.planning_interval and (ctx.step - 1) % self.planning_interval == 0:
                    await self._planning_step(ctx)
                step = await self._action_step(ctx)
                if step.is_final:
                    status, output = "success", step.final_value
                    self._store_in_memory(ctx, output)
                    if self.extract_facts and self.memory is not None:
                        await self._extract_facts(ctx, output)
                    break
            else:
                output = await self._final_step(ctx)
        except ModelError as exc:
            status, error = "error", redact(str(exc))  # a provider may quote the key it refused
            error_kind = "transient" if isinstance(exc, TransientModelError) else "model"
            if ctx.current is not None:
                self._close_step(ctx, ctx.current, error=error, error_kind="model")
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            status, error, interrupted, error_kind = "interrupted", "the run was interrupted", exc, "interrupted"
            if ctx.current is not None:
                executor = getattr(self, "executor", None)
                printed = getattr(executor, "interrupted_stdout", "")
                if printed and executor is not None:
                    executor.interrupted_stdout = ""
                    ctx.current.stdout = ctx.current.stdout or redact(printed)
                self._close_step(ctx, ctx.current, error=error, error_kind="interrupted")
        except Exception as exc:  # noqa: BLE001 - the run ends as an error, stored, never left "running"
            logger.exception("run %s failed", ctx.run_id)
            status, error, error_kind = "error", redact(f"{type(exc).__name__}: {exc}"), "crash"
            if ctx.current is not None:
                self._close_step(ctx, ctx.current, error=error, error_kind="crash")
        finally:
            loop_run_ended(loop)
            self._end_run(ctx)
        duration = time.perf_counter() - ctx.start
        confidence = how_reached(ctx.steps, status, output)
        self._emit(
            ctx,
            RunEnd(
                run_id=ctx.run_id,
                step=ctx.step,
                status=status,
                output=output,
                error=error,
                usage=ctx.usage,
                duration=duration,
                steps=ctx.step,
                confidence=confidence,
            ),
        )
        result = RunResult(
            output=output,
            status=status,
            run_id=ctx.run_id,
            task=ctx.task,
            model=self.model.model_id,
            steps=ctx.steps,
            usage=ctx.usage,
            error=error,
            error_kind=error_kind,
            duration=duration,
            model_calls=ctx.model_calls,
            format_errors=ctx.format_errors,
            events=ctx.events,
            confidence=confidence,
        )
        self.last_result = result
        if interrupted is not None:
            raise interrupted
        return result

    # -- what each kind of agent fills in -------------------------------------------------------

    @abstractmethod
    def _system_prompt(self) -> str: ...

    @abstractmethod
    async def _action_step(self, ctx: RunContext) -> Step: ...

    @abstractmethod
    async def _final_step(self, ctx: RunContext) -> Any: ...

    async def _start_run(self, ctx: RunContext, variables: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Prepare per-run state (the code agent sets up its executor here)."""

    def _end_run(self, ctx: RunContext) -> None:  # noqa: B027 - optional hook
        """Release per-run state."""

    # -- shared machinery ---------------------------------------------------------------------

    def _emit(self, ctx: RunContext, event: Event) -> None:
        """One event of the run: into its result, and to every sink of its bus."""
        ctx.events.append(event)
        ctx.bus.publish(event)

    def _forward(self, ctx: RunContext, event: Event) -> None:
        """A managed agent's event: the manager's result and the sinks that take forwarded events."""
        if event.run_id == ctx.run_id:
            return
        if not isinstance(event, Live):
            ctx.events.append(event)
        ctx.bus.publish(event, forwarded=True)

    def _live(self, ctx: RunContext, what: str, text: str) -> None:
        """Tell live views what the step is doing now (not stored, not traced; never fails the run)."""
        if ctx.bus.live:
            ctx.bus.publish(Live(run_id=ctx.run_id, step=ctx.step, what=what, text=text))

    def _messages(self, ctx: RunContext) -> list[Message]:
        messages: list[Message] = [
            {"role": "system", "content": self.system_prompt or self._system_prompt()},
            # What the run knows (memories, variables) first, the task last: small models answer
            # the last thing they read (the 0.5B model used a recalled "64 GPUs" only this way).
            {
                "role": "user",
                "content": (ctx.context.strip() + "\n\n" if ctx.context.strip() else "") + prompts.TASK.format(task=ctx.task),
            },
        ]
        if ctx.plan:
            messages.append({"role": "assistant", "content": prompts.PLAN_MESSAGE.format(plan=ctx.plan)})
        return messages + ctx.history

    def _open_step(self, ctx: RunContext, kind: str = "action") -> Step:
        step = Step(run_id=ctx.run_id, step=ctx.step, kind=kind, start=time.time())  # type: ignore[arg-type]
        ctx.current = step
        ctx.effects.new_step()
        self._emit(ctx, StepStart(run_id=ctx.run_id, step=ctx.step, kind=kind))
        return step

    def _close_step(self, ctx: RunContext, step: Step, **updates: Any) -> Step:
        for key, value in updates.items():
            setattr(step, key, value)
        step.duration = time.time() - step.start
        step.ts = time.time()
        ctx.steps.append(step)
        ctx.current = None
        self._emit(ctx, step)
        return step

    async def _call_model(self, ctx: RunContext, step: Step, messages: list[Message], **kwargs: Any) -> ModelResponse:
        purpose = step.kind
        replay = ctx.replay
        if replay is not None and replay.step == ctx.step and purpose == "action":
            ctx.replay = None  # recorded before the run stopped: counted then, not asked again
            step.model_calls += 1
            step.usage = step.usage + replay.usage
            return ModelResponse(replay.output, [ToolCallRequest(**c) for c in replay.tool_calls], replay.usage)
        start = time.perf_counter()
        params = {**self.model_params, **kwargs}
        model_id = self.model.model_id
        # Nothing the project knows to be secret goes to a provider: not in an observation, and not
        # in the model's own earlier reply, the task or a memory either.
        messages = redact_messages(messages)
        try:
            # every model call waits its turn: priority order, per-model concurrency and rate limits
            async with scheduler.slot(model_id, priority=ctx.priority, tokens=_estimate_tokens(messages)) as turn:
                start = time.perf_counter()
                timeout = turn.limits.timeout
                # A live view gets the reply as it is generated (models that stream; not recorded as a parameter)
                live: dict[str, Any] = (
                    {"on_text": lambda text: self._live(ctx, "model", text)}
                    if ctx.bus.live and getattr(self.model, "streams", False)
                    else {}
                )
                if timeout is not None:
                    try:
                        response = await asyncio.wait_for(self.model.agenerate(messages, **params, **live), timeout)
                    except TimeoutError:
                        raise ModelError(
                            f"{model_id} did not answer within {timeout:g} s (the scheduler's timeout for it: "
                            f"scheduler.configure({model_id!r}, timeout=...) changes it)"
                        ) from None
                else:
                    response = await self.model.agenerate(messages, **params, **live)
                turn.used_tokens = response.usage.input_tokens + response.usage.output_tokens
        except ModelError as exc:
            self._emit(ctx, self._model_call(ctx, purpose, messages, params, time.perf_counter() - start, error=str(exc)))
            raise
        duration = time.perf_counter() - start
        ctx.model_calls += 1
        ctx.usage = ctx.usage + response.usage
        step.usage = step.usage + response.usage
        step.model_calls += 1
        step.model_duration += duration
        calls = [c.to_dict() for c in response.tool_calls]
        event = self._model_call(
            ctx, purpose, messages, params, duration, output=response.content, tool_calls=calls, usage=response.usage
        )
        self._emit(ctx, event)
        return response

    def _model_call(
        self, ctx: RunContext, purpose: str, messages: list[Message], params: dict[str, Any], duration: float, **outcome: Any
    ) -> ModelCall:
        """The record of one model call: what was asked, with which parameters, and `outcome`."""
        invoked = _plain({**getattr(self.model, "params", {}), **params})
        return ModelCall(
            run_id=ctx.run_id,
            step=ctx.step,
            purpose=purpose,
            model=self.model.model_id,
            messages=messages,
            duration=duration,
            params=invoked,
            **outcome,
        )

    async def _planning_step(self, ctx: RunContext) -> None:
        step = self._open_step(ctx, "planning")
        messages = self._messages(ctx) + [{"role": "user", "content": prompts.PLANNING}]
        response = await self._call_model(ctx, step, messages)
        ctx.plan = response.content.strip()
        self._close_step(ctx, step, model_output=response.content, thought=ctx.plan)

    def _truncate(self, text: str) -> str:
        text = redact(text)  # before the cut: half a key would no longer be recognised
        limit = self.max_observation_chars
        if len(text) <= limit:
            return text
        head, tail = text[: limit * 3 // 4], text[-limit // 4 :]
        return f"{head}\n[... {len(text) - len(head) - len(tail):,} characters cut; print less, or slices ...]\n{tail}"


def _estimate_tokens(messages: list[Message]) -> int:
    """About four characters a token: what a request will cost, for the token-rate window."""
    return sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Invocation parameters as JSON-friendly values (for the trace; never the API key)."""
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list)) else repr(v)
        for k, v in params.items()
        if "key" not in k.lower() and k.lower() != "token"
    }
