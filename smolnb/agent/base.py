"""The step loop shared by both agents. Async at its core; it emits events and never prints."""

from __future__ import annotations

import asyncio
import copy
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import tracing
from .._sync import run_sync, workers
from ..errors import BackendError, ModelError, ToolError, UserError
from ..events import Event, Live, MemoryAccess, ModelCall, RunEnd, RunStart, Snapshot, Step, StepStart, ToolCall, Usage
from ..logs import logger
from ..models import Message, Model, ModelResponse, ToolCallRequest, get_model
from ..redact import add_secret, is_secret_name, redact, redact_messages, storable
from ..scheduling import scheduler
from ..tools import Tool, ToolSet
from ..tools.tool import _CALL_KEY
from . import prompts
from .confidence import how_reached
from .effects import Effects, pack_value
from .result import RunResult, Status
from .snapshots import whole_snapshot

__all__ = ["MultiStepAgent", "RunContext"]

Listener = Callable[[Event], None]


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()


@dataclass
class RunContext:
    """The working state of one run."""

    run_id: str
    task: str
    messages: list[Message] = field(default_factory=list)
    history: list[Message] = field(default_factory=list)
    plan: str | None = None
    steps: list[Step] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_calls: int = 0
    format_errors: int = 0
    step: int = 0
    limit: int = 0  # the run's step limit
    challenged: bool = False  # a constant final answer was sent back once (CodeAgent(challenge=True))
    current: Step | None = None
    resumed: bool = False
    snapshot: Snapshot | None = None  # the latest stored variables, for resume (whole)
    stored_vars: dict[str, int] | None = None  # name -> hash of its pickle in the last snapshot written
    replay: ModelCall | None = None  # a model reply recorded before a crash, used instead of asking again
    context: str = ""  # what the agent knows of its surroundings (e.g. the notebook's variables)
    store: Listener | None = None
    start: float = field(default_factory=time.perf_counter)
    priority: int = 0
    effects: Effects = field(default_factory=Effects)  # tool calls as recorded effects (exactly once across resume)


class MultiStepAgent(ABC):
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
        memory: Any = None,
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
        store: Any = True,
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
        self.store = store
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
            self._attach_store(ctx, None)
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

    def _attach_memory(self, ctx: RunContext) -> None:
        """With a Memory: the most relevant memories go into the prompt, memory tools into the toolbox."""
        if self.memory is None:
            return
        self._memory_meta.clear()
        self._memory_meta.update({"run_id": ctx.run_id, "agent": self.name or type(self).__name__})
        if not self._memory_tools:
            self._memory_tools = self.memory.tools(self._memory_meta)
        recalled, items = self.memory.context(ctx.task, run_id=ctx.run_id)
        ctx.context = recalled + ctx.context
        if items:
            texts = [item.text for item in items]
            self._emit(ctx, MemoryAccess(run_id=ctx.run_id, step=ctx.step, op="read", query=ctx.task, items=texts))

    def _store_in_memory(self, ctx: RunContext, output: Any) -> None:
        if self.memory is None:
            return
        try:
            # An outcome, not knowledge: right or wrong, it is kept (for review and search) marked
            # unverified, and never put into a later run's prompt as a relevant memory.
            text = f"Task: {ctx.task}\nAnswer: {output}"
            ids = self.memory.remember(
                text,
                source=f"run:{ctx.run_id}",
                provenance={
                    "run_id": ctx.run_id,
                    "step": ctx.step,
                    "agent": self.name or type(self).__name__,
                    "outcome": True,
                    "verified": False,
                    "status": "success",
                    "model": self.model.model_id,
                },
            )
        except (BackendError, UserError) as exc:
            logger.warning("the run's answer was not stored in memory: %s", exc)
            return
        self._emit(ctx, MemoryAccess(run_id=ctx.run_id, step=ctx.step, op="write", items=[redact(text)], ids=list(ids)))

    async def _extract_facts(self, ctx: RunContext, output: Any) -> list[Any]:
        """Ask the model for the facts the run established (JSON), and store them with provenance.

        A reply that is not the JSON asked for stores nothing and says so in the log.
        """
        messages: list[Message] = [
            {"role": "user", "content": prompts.EXTRACT_FACTS.format(task=ctx.task, answer=str(output)[:2000])}
        ]
        step = Step(run_id=ctx.run_id, step=ctx.step, kind="final", start=time.time())
        try:
            response = await self._call_model(ctx, step, messages, response_format={"type": "json_object"})
            facts = _parse_facts(response.content)
        except (ModelError, ValueError) as exc:
            logger.warning("fact extraction after run %s stored nothing: %s", ctx.run_id, exc)
            return []
        meta = {
            "run_id": ctx.run_id,
            "step": ctx.step,
            "agent": self.name or type(self).__name__,
            "source": "extraction",
            "time": time.time(),
        }
        stored = []
        for subject, relation, obj in facts:
            try:
                stored.append(self.memory.graph.add_fact(subject, relation, obj, provenance=meta))
            except (BackendError, UserError) as exc:
                logger.warning("an extracted fact was not stored (%s, %s, %s): %s", subject, relation, obj, exc)
        return stored

    def _all_tools(self) -> list[Tool]:
        return list(self.tools) + list(self._memory_tools)

    def _check_tools(self) -> None:
        """Fail fast, before any model call, when the tools miss tools or packages they need."""
        if len(self.tools) and self._resolved_revision != self.tools.revision:
            self.tools.resolve()
            self._resolved_revision = self.tools.revision

    def resume_run(self, run_id: str, *, max_steps: int | None = None) -> RunResult:
        """Continue a stored run from its last completed step (sync twin of `aresume_run`)."""
        try:
            return run_sync(self.aresume_run(run_id, max_steps=max_steps))
        except KeyboardInterrupt:
            if self.last_result is not None and self.last_result.status == "interrupted":
                return self.last_result
            raise

    async def aresume_run(self, run_id: str, *, max_steps: int | None = None, store: Any = None) -> RunResult:
        """Continue a stored run that stopped (max steps, error, interrupt, crash) where it stopped.

        Completed steps are not redone: their model replies and observations are read back
        from the store. `max_steps` more steps are allowed (the agent's own limit by default).
        """
        from ..persistence import default_store

        source = store or (self.store if self.store not in (True, None, False) else default_store())
        record = source.get(run_id)
        if record.status == "success":
            raise UserError(f"run {record.run_id} already finished with an answer; start a new run instead")
        ctx = RunContext(run_id=record.run_id, task=record.task)
        self._attach_store(ctx, source)
        self._restore(ctx, source.events(record.run_id, with_children=False))
        ctx.resumed = True
        self._emit(ctx, self._run_start(ctx, record.parent_run_id, None))
        return await self._drive(ctx, ctx.step + (max_steps or self.max_steps), {})

    # -- configuration to and from a file ---------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        """The agent as plain data: model, tools by reference and version, prompts, limits, helpers."""
        from ..tools.tool import FunctionTool

        tools = []
        for item in self.tools:
            target = item.fn if isinstance(item, FunctionTool) else type(item)
            tools.append(
                {
                    "name": item.name,
                    "version": item.version,
                    "ref": f"{target.__module__}:{target.__qualname__}",
                    "kind": "function" if isinstance(item, FunctionTool) else "class",
                }
            )
        memory = getattr(self.memory, "uri", None) if self.memory is not None else None
        return {
            "type": type(self).__name__,
            "model": self.model.model_id,
            "tools": tools,
            "max_steps": self.max_steps,
            "planning_interval": self.planning_interval,
            "name": self.name,
            "description": self.description,
            "system_prompt": self.system_prompt,
            "model_params": {k: v for k, v in self.model_params.items() if not is_secret_name(k)},  # keys stay out of files
            "memory": memory,
            "managed_agents": [a.to_config() for a in self.managed_agents.values()],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `to_config()` to a JSON file."""
        import json
        from pathlib import Path

        Path(path).write_text(json.dumps(self.to_config(), indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike[str], **overrides: Any) -> MultiStepAgent:
        """Rebuild an agent saved with `save` (keyword arguments override saved settings, e.g. model=)."""
        import json
        from pathlib import Path

        return cls.from_config(json.loads(Path(path).read_text()), **overrides)

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides: Any) -> MultiStepAgent:
        import importlib

        from .code_agent import CodeAgent
        from .tool_calling import ToolCallingAgent

        kinds = {"CodeAgent": CodeAgent, "ToolCallingAgent": ToolCallingAgent}
        kind = kinds.get(config.get("type", cls.__name__), cls)
        tools = []
        for ref in config.get("tools", []) if "tools" not in overrides else []:  # tools given replace the saved ones
            module, _, qualname = ref["ref"].partition(":")
            try:
                target: Any = importlib.import_module(module)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                raise UserError(
                    f"tool {ref['name']!r} ({ref['ref']}) cannot be imported: {exc}. Define it in an importable "
                    "module, or pass tools=[...] to load()."
                ) from None
            from ..tools import as_tool

            # a decorated function resolves to its Tool; a Tool class is instantiated
            item = target if isinstance(target, Tool) else as_tool(target() if ref.get("kind") == "class" else target)
            if item.version != ref["version"]:
                raise UserError(
                    f"tool {ref['name']!r} is now version {item.version}, but the agent was saved with "
                    f"{ref['version']}: pass tools=[...] to load() to accept the new version"
                )
            tools.append(item)
        settings = {k: v for k, v in config.items() if k not in ("type", "tools", "managed_agents", "memory")}
        settings["tools"] = tools
        settings["managed_agents"] = [cls.from_config(sub) for sub in config.get("managed_agents", [])]
        settings.update(overrides)
        agent: MultiStepAgent = kind(**settings)
        return agent

    def fork(
        self, run_id: str, *, step: int, task: str | None = None, max_steps: int | None = None, store: Any = None
    ) -> RunResult:
        """Start a new run from step `step` of a stored run, with this agent's model and tools.

        With a new task, if given: "what if a bigger model had taken over at step 3?".
        """
        return run_sync(self.afork(run_id, step=step, task=task, max_steps=max_steps, store=store))

    async def afork(
        self, run_id: str, *, step: int, task: str | None = None, max_steps: int | None = None, store: Any = None
    ) -> RunResult:
        """Async twin of `fork`."""
        from ..persistence import default_store

        source = store or (self.store if self.store not in (True, None, False) else default_store())
        record = source.get(run_id)
        if step < 0 or step > record.steps:
            raise UserError(f"run {record.run_id} has steps 1..{record.steps}: fork from one of them (0 starts afresh)")
        ctx = RunContext(run_id=new_run_id(), task=(task or record.task).strip())
        self._attach_store(ctx, source)
        kept = [
            e
            for e in source.events(record.run_id, with_children=False)
            if e.step <= step and not isinstance(e, RunStart | RunEnd)
        ]
        self._restore(ctx, kept)
        ctx.replay = None
        ctx.resumed = step > 0
        start = self._run_start(ctx, None, None)
        start.forked_from = f"{record.run_id}@{step}"
        self._emit(ctx, start)
        return await self._drive(ctx, ctx.step + (max_steps or self.max_steps), {})

    def _attach_store(self, ctx: RunContext, store: Any) -> None:
        if store is not None:
            ctx.store = store.listener
        elif self.store is True:
            from ..persistence import default_store

            ctx.store = default_store().listener
        elif self.store:
            ctx.store = self.store.listener

    def _run_start(self, ctx: RunContext, parent_run_id: str | None, parent_step: int | None) -> RunStart:
        return RunStart(
            run_id=ctx.run_id,
            step=ctx.step,
            task=ctx.task,
            agent=self.name or type(self).__name__,
            agent_type=self.agent_type,
            model=self.model.model_id,
            tools=self.tools.versions(),
            parent_run_id=parent_run_id,
            parent_step=parent_step,
        )

    def _restore(self, ctx: RunContext, events: list[Event]) -> None:
        """Rebuild the conversation and counters of a run from its stored events.

        A model reply recorded for a step that did not finish is kept to be used again, so a
        completed model call is never repeated; tool calls of that step are reported to the
        model, so a tool with side effects is not silently run twice.
        """
        pending: ModelCall | None = None
        tools: list[ToolCall] = []
        snapshots: list[Snapshot] = []
        for event in events:
            if isinstance(event, ModelCall) and event.error is None:
                ctx.model_calls += 1
                ctx.usage = ctx.usage + event.usage
                pending = event if event.purpose == "action" else None
            elif isinstance(event, ToolCall):
                tools.append(event)
            elif isinstance(event, Snapshot):
                snapshots.append(event)
            elif isinstance(event, Step) and event.kind != "final" and event.error_kind not in ("model", "interrupted"):
                ctx.steps.append(event)
                ctx.step = max(ctx.step, event.step)
                pending, tools = None, []
                if event.kind == "planning":
                    ctx.plan = event.thought
                else:
                    ctx.history += self._replay_messages(event)
                    ctx.format_errors += event.error_kind == "format"
        ctx.snapshot = whole_snapshot(snapshots)
        if pending is not None and pending.step == ctx.step + 1:
            ctx.replay = pending
        tools = [t for t in tools if t.step == ctx.step + 1]
        ctx.effects.restore(tools, ctx.step + 1)
        if ctx.replay is not None:
            tools = [t for t in tools if not t.key]  # the replayed code meets its recorded calls again
        if tools:
            done = "\n".join(
                f"- {t.name}({', '.join(f'{k}={v}' for k, v in t.arguments.items())}) -> {t.error or t.result}" for t in tools
            )
            ctx.history.append({"role": "user", "content": prompts.TOOLS_BEFORE_CRASH.format(calls=done)})

    def _replay_messages(self, step: Step) -> list[Message]:
        """The messages a completed step added to the conversation."""
        return [{"role": "assistant", "content": step.model_output}, {"role": "user", "content": step.observation}]

    async def _drive(self, ctx: RunContext, limit: int, variables: dict[str, Any]) -> RunResult:
        status: Status = "max_steps"
        output: Any = None
        error: str | None = None
        interrupted: BaseException | None = None
        ctx.limit = limit
        loop = asyncio.get_running_loop()
        _runs_on_loop[loop] = _runs_on_loop.get(loop, 0) + 1
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
            if ctx.current is not None:
                self._close_step(ctx, ctx.current, error=error, error_kind="model")
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            status, error, interrupted = "interrupted", "the run was interrupted", exc
            if ctx.current is not None:
                executor = getattr(self, "executor", None)
                printed = getattr(executor, "interrupted_stdout", "")
                if printed and executor is not None:
                    executor.interrupted_stdout = ""
                    ctx.current.stdout = ctx.current.stdout or redact(printed)
                self._close_step(ctx, ctx.current, error=error, error_kind="interrupted")
        except Exception as exc:  # noqa: BLE001 - the run ends as an error, stored, never left "running"
            logger.exception("run %s failed", ctx.run_id)
            status, error = "error", redact(f"{type(exc).__name__}: {exc}")
            if ctx.current is not None:
                self._close_step(ctx, ctx.current, error=error, error_kind="crash")
        finally:
            left = _runs_on_loop.pop(loop) - 1
            if left:
                _runs_on_loop[loop] = left
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

    def _emit(self, ctx: RunContext, event: Event, *, store: bool = True) -> None:
        ctx.events.append(event)
        if store and ctx.store is not None:
            try:
                ctx.store(event)
            except BackendError as exc:  # the store keeps the events and retries; the run goes on
                logger.warning("%s", exc)
        for listener in self.listeners:
            listener(event)
        if store and tracing.hooks:  # tracing is on; `store=False` marks a managed agent's forwarded event
            for hook in tracing.hooks:
                hook(event)

    def _forward(self, ctx: RunContext, event: Event) -> None:
        """A managed agent's event: the manager's listeners (and result) see it; live ones only its views."""
        if event.run_id == ctx.run_id:
            return
        if isinstance(event, Live):
            for listener in self.listeners:
                listener(event)
        else:
            self._emit(ctx, event, store=False)

    def _live(self, ctx: RunContext, what: str, text: str) -> None:
        """Tell live views what the step is doing now (not stored, not traced; never fails the run)."""
        if not self.listeners:
            return
        event = Live(run_id=ctx.run_id, step=ctx.step, what=what, text=text)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a view's failure is not the run's
                logger.debug("a live view failed", exc_info=True)

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
                    if self.listeners and getattr(self.model, "streams", False)
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
        elif ctx.store is not None:
            # "started" is for the store alone (written before the tool runs); the trace, the
            # tracer and listeners see one event per call, when it is done.
            try:
                ctx.store(event)
            except BackendError as exc:
                logger.warning("the start of %s could not be recorded before it ran: %s", record["name"], exc)

    def _answer_recorded(self, ctx: RunContext, record: dict[str, Any], before: ToolCall) -> Any:
        """A call the crashed attempt of this step had made: answered from its record, not run."""
        try:
            value = Effects.answer(before)
        except ToolError as exc:
            self._record_call(ctx, {**record, "error": str(exc), "duration": 0.0}, None, replayed=True)
            raise
        self._record_call(ctx, {**record, "duration": 0.0}, value, replayed=True)
        return value


def run_in_thread(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run `fn` on a worker thread; cancelling the returned future interrupts it."""
    done, interrupt = workers.submit(fn)
    wrapped = asyncio.wrap_future(done)

    def on_done(fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            interrupt()

    wrapped.add_done_callback(on_done)
    return wrapped


_runs_on_loop: dict[asyncio.AbstractEventLoop, int] = {}


def alone_on_loop() -> bool:
    """True when nothing else runs on the caller's event loop, so its code may run inline.

    Counting the loop's runs first spares the scan of every task when many runs share it.
    """
    return _runs_on_loop.get(asyncio.get_running_loop(), 0) <= 1 and len(asyncio.all_tasks()) <= 1


def normalize_task(task: Any) -> str:
    """The task as clean text: bytes decoded as UTF-8, lone surrogates replaced, stripped.

    Raises `UserError` naming the problem for anything that is not text, bytes that are not
    UTF-8, and an empty task.
    """
    if isinstance(task, bytes | bytearray):
        try:
            task = bytes(task).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"the task is bytes that are not valid UTF-8 ({exc.reason} at byte {exc.start}): decode it "
                "first, e.g. task.decode('latin-1'), and pass the text"
            ) from None
    if not isinstance(task, str):
        raise UserError(f"the task must be text (str), not {type(task).__name__}: e.g. agent.run('What is 2**10?')")
    text = storable(task).strip()  # lone surrogate halves -> U+FFFD
    if not text:
        raise UserError("the task is empty: pass the question or instruction as text, e.g. agent.run('What is 2**10?')")
    return text


def _parse_facts(text: str) -> list[tuple[str, str, str]]:
    """`{"facts": [{"subject": ..., "relation": ..., "object": ...}]}` (or a bare list) -> triples."""
    import json
    import re

    match = re.search(r"[\[{].*[\]}]", text, re.S)
    if match is None:
        raise ValueError(f"the model's reply holds no JSON: {text[:120]!r}")
    data = json.loads(match.group(0))
    items = data.get("facts", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("the JSON has no list of facts")
    facts = []
    for item in items:
        if isinstance(item, dict) and all(isinstance(item.get(k), (str, int, float)) for k in ("subject", "relation", "object")):
            facts.append((str(item["subject"]), str(item["relation"]), str(item["object"])))
    return facts


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
