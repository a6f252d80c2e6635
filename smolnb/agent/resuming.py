"""Going on from a stored run: resume where it stopped, or fork from one of its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import tracing
from .._sync import run_sync
from ..errors import UserError
from ..events import Event, ModelCall, RunEnd, RunStart, Snapshot, Step, ToolCall
from ..models import Message
from ..protocols import RunRecorder, StoreOption
from . import prompts
from .bus import EventBus, Sink
from .run_state import Listener, RunContext, new_run_id
from .snapshots import whole_snapshot

if TYPE_CHECKING:
    from ..models import Model
    from ..tools import ToolSet
    from .result import RunResult

__all__ = ["Resumable", "store_option"]


def store_option(store: object) -> StoreOption:
    """Check an agent's `store=`: a run store, "default" or None (True and False: the old spelling of the last two)."""
    if store is True:
        return "default"
    if store is None or store is False:
        return None
    if store == "default" or all(callable(getattr(store, name, None)) for name in ("listener", "get", "events")):
        return store  # type: ignore[return-value]  # a RunRecorder, checked by its methods
    raise UserError(
        f"store= takes a RunStore, 'default' (the run store under SMOLNB_HOME) or None (keep nothing), not {store!r}; "
        "for a file of your own use store=RunStore('runs.db')"
    )


class Resumable:
    """`resume_run` / `fork` and what they share: the run's events read back into a `RunContext`."""

    if TYPE_CHECKING:
        agent_type: str
        model: Model
        tools: ToolSet
        name: str | None
        max_steps: int
        store: StoreOption
        listeners: list[Listener]
        last_result: RunResult | None

        def _emit(self, ctx: RunContext, event: Event) -> None: ...

        async def _drive(self, ctx: RunContext, limit: int, variables: dict[str, Any]) -> RunResult: ...

    def resume_run(self, run_id: str, *, max_steps: int | None = None) -> RunResult:
        """Continue a stored run from its last completed step (sync twin of `aresume_run`)."""
        try:
            return run_sync(self.aresume_run(run_id, max_steps=max_steps))
        except KeyboardInterrupt:
            if self.last_result is not None and self.last_result.status == "interrupted":
                return self.last_result
            raise

    async def aresume_run(self, run_id: str, *, max_steps: int | None = None, store: RunRecorder | None = None) -> RunResult:
        """Continue a stored run that stopped (max steps, error, interrupt, crash) where it stopped.

        Completed steps are not redone: their model replies and observations are read back
        from the store. `max_steps` more steps are allowed (the agent's own limit by default).
        """
        source = self._source(store)
        record = source.get(run_id)
        if record.status == "success":
            raise UserError(f"run {record.run_id} already finished with an answer; start a new run instead")
        ctx = RunContext(run_id=record.run_id, task=record.task)
        self._attach_bus(ctx, source)
        self._restore(ctx, source.events(record.run_id, with_children=False))
        ctx.resumed = True
        self._emit(ctx, self._run_start(ctx, record.parent_run_id, None))
        return await self._drive(ctx, ctx.step + (max_steps or self.max_steps), {})

    def fork(
        self, run_id: str, *, step: int, task: str | None = None, max_steps: int | None = None, store: RunRecorder | None = None
    ) -> RunResult:
        """Start a new run from step `step` of a stored run, with this agent's model and tools.

        With a new task, if given: "what if a bigger model had taken over at step 3?".
        """
        return run_sync(self.afork(run_id, step=step, task=task, max_steps=max_steps, store=store))

    async def afork(
        self, run_id: str, *, step: int, task: str | None = None, max_steps: int | None = None, store: RunRecorder | None = None
    ) -> RunResult:
        """Async twin of `fork`."""
        source = self._source(store)
        record = source.get(run_id)
        if step < 0 or step > record.steps:
            raise UserError(f"run {record.run_id} has steps 1..{record.steps}: fork from one of them (0 starts afresh)")
        ctx = RunContext(run_id=new_run_id(), task=(task or record.task).strip())
        self._attach_bus(ctx, source)
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

    def _source(self, store: RunRecorder | None) -> RunRecorder:
        """Where a stored run is read from: `store`, else the agent's, else the default store."""
        if store is not None:
            return store
        if self.store is not None and self.store != "default":
            return self.store
        from ..persistence import default_store

        return default_store()

    def _attach_bus(self, ctx: RunContext, store: RunRecorder | None) -> None:
        """The run's sinks, in the order they hear each event: the run store, listeners, the tracer."""
        if store is None and self.store is not None:
            store = self._source(None)
        sinks = [Sink(store.listener, "store", record=True)] if store is not None else []
        sinks += [Sink(listener, "listener", forwarded=True, live=True) for listener in self.listeners]
        sinks += [Sink(hook, "tracer") for hook in tracing.hooks]
        ctx.bus = EventBus(sinks)

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
