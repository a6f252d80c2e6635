"""The code agent: each step the model writes Python, which runs natively, and sees the result."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable
from typing import Any

from .._sync import alone_on_loop, run_in_thread
from ..errors import UserError, did_you_mean, final_answer
from ..events import Snapshot, Step
from ..executor import DEFAULT_IMPORTS, Executor, Policy, make_executor
from ..executor.base import ExecResult, short_repr, unpickle_variables
from ..models.base import Message
from ..protocols import AgentMemory
from . import prompts
from .base import MultiStepAgent, RunContext
from .confidence import function_misfit, is_stated, misfit
from .examples import Checked, run_examples
from .observing import (
    as_reply,
    asserts_run,
    describe_variables,
    error_line,
    import_hint,
    in_a_rut,
    plural,
    printed_nothing,
    repeats,
)
from .parsing import extract_code, has_statements, split_thought
from .snapshots import changed_since

__all__ = ["CodeAgent", "describe_variables"]


class CodeAgent(MultiStepAgent):
    r"""An agent that acts by writing Python code, run natively under a policy.

    Args:
        authorized_imports: modules the code may import, added to a small safe default set.
        executor: `"local"` (in this process under the policy, the default), `"sandbox"` (a
            kernel-confined process: the boundary for code you do not trust; it shares the
            namespace's variables by value), `"subprocess"` (a separate process with memory and
            CPU limits), or an `Executor`.
        code_timeout: wall-clock seconds per code block.
        approve: called as `approve(step, code)` before each code block runs; returns the code
            to run (as proposed, or edited) or None to skip it. The decision is in the trace.
        namespace: the dict the code runs in (the notebook passes its user namespace); a new
            one per run if None.
        **kwargs: see `MultiStepAgent`.

    Example:
        >>> from smolnb import CodeAgent
        >>> from smolnb.models import TestModel
        >>> agent = CodeAgent(model=TestModel(["```python\nfinal_answer(6 * 7)\n```"]))
        >>> agent.run("What is 6 times 7?").output
        42
    """

    agent_type = "code"

    def __init__(
        self,
        model: Any = None,
        tools: Iterable[Any] = (),
        memory: AgentMemory | None = None,
        max_steps: int = 10,
        planning_interval: int | None = None,
        authorized_imports: Iterable[str] = (),
        managed_agents: Iterable[MultiStepAgent] = (),
        name: str | None = None,
        description: str | None = None,
        *,
        executor: str | Executor = "local",
        code_timeout: float = 30.0,
        approve: Callable[[int, str], str | None] | None = None,
        namespace: dict[str, Any] | None = None,
        snapshots: bool = True,
        challenge: bool = False,
        **kwargs: Any,
    ) -> None:
        from ..executor import KINDS

        if not isinstance(executor, Executor) and executor not in KINDS:
            raise UserError(
                f"unknown executor {executor!r}.{did_you_mean(str(executor), KINDS)} Choose one of: {', '.join(KINDS)}"
            )
        super().__init__(model, tools, memory, max_steps, planning_interval, managed_agents, name, description, **kwargs)
        self.policy = Policy(authorized_imports)
        self.executor_kind = executor
        self.code_timeout = code_timeout
        self.approve = approve
        self.namespace = namespace
        self.snapshots = snapshots
        self.challenge = challenge
        self.executor: Executor | None = executor if isinstance(executor, Executor) else None
        self.journal: Any = None  # a NamespaceJournal: what each block may touch is saved first (the notebook's undo)
        self._tool_revision = -1

    @classmethod
    def resume(cls, run_id: str, *, model: Any = None, max_steps: int | None = None, **kwargs: Any) -> Any:
        """Continue a stored run where it stopped, with the model it used unless `model` is given.

        Example:
            >>> result = CodeAgent.resume(run_id)  # doctest: +SKIP
        """
        from ..persistence import default_store

        record = default_store().get(run_id)
        agent = cls(model=model or record.model, **kwargs)
        return agent.resume_run(record.run_id, max_steps=max_steps)

    def clone(self) -> CodeAgent:
        twin = super().clone()
        assert isinstance(twin, CodeAgent)
        if not isinstance(self.executor_kind, Executor):
            twin.executor, twin._tool_revision = None, -1  # its own executor
        if self.namespace is not None:
            # A concurrent run sees the notebook's variables but keeps its own: runs over one
            # namespace would otherwise overwrite each other's (three sums answering [6, 6, 6]).
            twin.namespace = {k: v for k, v in self.namespace.items() if k not in ("In", "Out", "_oh", "_ih", "_dh")}
        return twin

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["authorized_imports"] = sorted(self.policy.authorized - DEFAULT_IMPORTS)
        config["executor"] = self.executor_kind if isinstance(self.executor_kind, str) else "local"
        config["code_timeout"] = self.code_timeout
        return config

    # -- prompt -------------------------------------------------------------------------------

    def _system_prompt(self) -> str:
        tools = ""
        all_tools = self._all_tools()
        if all_tools:
            items = "\n".join(f"- {t.signature()}: {t.description}" for t in all_tools)
            first = all_tools[0]
            example = f"{first.name}({', '.join(f'{k}=...' for k in first.inputs)})"
            tools = prompts.TOOLS_SECTION.format(items=items, example=example)
        agents = ""
        if self.managed_agents:
            items = "\n".join(f"- {n}(task: str) -> str: {a.description}" for n, a in self.managed_agents.items())
            agents = prompts.AGENTS_SECTION.format(items=items)
        imports = ", ".join(sorted(self.policy.authorized))
        return prompts.CODE_SYSTEM.format(tools=tools, agents=agents, imports=imports)

    def _messages(self, ctx: RunContext) -> list[Message]:
        """The system prompt, the worked examples as turns (with the default prompt), then the run."""
        messages = super()._messages(ctx)
        if self.system_prompt:
            return messages  # the caller's own prompt: their own examples, if any
        shown = [{"role": "user", "content": prompts.TASK.format(task=task)} for task, _ in prompts.CODE_EXAMPLES]
        replies = [{"role": "assistant", "content": reply} for _, reply in prompts.CODE_EXAMPLES]
        return [messages[0], *(m for pair in zip(shown, replies, strict=True) for m in pair), *messages[1:]]

    # -- run ----------------------------------------------------------------------------------

    async def _start_run(self, ctx: RunContext, variables: dict[str, Any]) -> None:
        if self.executor is None:
            options: dict[str, Any] = {"timeout": self.code_timeout}
            if self.executor_kind in ("local", "sandbox") and self.namespace is not None:
                options["namespace"] = self.namespace
            elif self.executor_kind == "local":
                options["namespace"] = {}
            self.executor = make_executor(self.executor_kind, self.policy, **options)
        self._sync_functions(ctx)
        if variables:
            self.executor.set_variables(variables)
        if ctx.resumed and ctx.history:
            restored: dict[str, Any] = {}
            lost: dict[str, str] = {}
            if ctx.snapshot is not None:
                restored, failed = unpickle_variables(base64.b64decode(ctx.snapshot.data))
                lost = {**ctx.snapshot.missing, **failed}
                self.executor.set_variables(restored)
            if self.namespace is None or lost:
                back = ", ".join(sorted(restored)) or "none"
                gone = "; ".join(f"{k}: {v}" for k, v in lost.items()) or "none"
                ctx.history.append({"role": "user", "content": prompts.RESUMED.format(restored=back, lost=gone)})
        # What the code can use: the notebook's namespace, or the variables given to this run.
        given = self.namespace if self.namespace is not None else variables
        if given:
            ctx.context += describe_variables(given, skip=set(self._functions(ctx)) | {"final_answer"}, task=ctx.task)

    def _end_run(self, ctx: RunContext) -> None:
        # A fresh namespace per run unless the caller gave one (the notebook's) or an executor.
        if self.namespace is None and not isinstance(self.executor_kind, Executor) and self.executor is not None:
            self.executor.close()
            self.executor = None

    def _sync_functions(self, ctx: RunContext) -> None:
        assert self.executor is not None
        from ..tools import ToolRegistry

        self.policy.authorize(ToolRegistry.import_names(self.tools))  # packages the tools declare
        functions: dict[str, Callable[..., Any]] = self._functions(ctx)
        functions["final_answer"] = final_answer
        self.executor.set_functions(functions)
        self._tool_revision = self.tools.revision

    async def _run_code(self, ctx: RunContext, code: str) -> ExecResult:
        if self.tools.revision != self._tool_revision:
            self._sync_functions(ctx)  # tools changed between steps of this run
        executor = self.executor
        assert executor is not None
        if self.journal is not None:
            self.journal.before(code)
        self._live(ctx, "code", code)
        executor.on_output = (lambda text: self._live(ctx, "stdout", text)) if ctx.bus.live else None
        if alone_on_loop():
            # Alone on this loop: run inline, a thread hop would cost more than the step.
            return executor.run(code)
        result: ExecResult = await run_in_thread(lambda: executor.run(code))
        return result

    async def _action_step(self, ctx: RunContext) -> Step:
        step = self._open_step(ctx)
        if self.tools.revision != self._tool_revision:
            self._sync_functions(ctx)
        messages = self._messages(ctx)
        extra: dict[str, Any] = {}
        if in_a_rut(ctx.steps):
            # Repeating itself (code it ran, an error it hit) at temperature 0: sample a little to get out.
            extra["temperature"] = max(float(self.model_params.get("temperature") or 0.0), 0.7)
        response = await self._call_model(ctx, step, messages, stop=["Observation:", "\n```\n"], **extra)
        text = response.content
        code = extract_code(text)
        step.model_output = text
        step.thought = split_thought(text)
        if code is not None and not has_statements(code):
            code = None  # only comments (a stand-in of the conversation, copied): nothing to run
        if code is None:
            ctx.format_errors += 1
            ctx.history += [{"role": "assistant", "content": text}, {"role": "user", "content": prompts.NO_CODE}]
            return self._close_step(
                ctx, step, observation=prompts.NO_CODE, error="no code block in the reply", error_kind="format"
            )
        step.code = code
        if self.approve is not None:
            decided = await self._approval(ctx, step, code)
            if decided is None:
                return self._skipped(ctx, step)
            code = decided
        result = await self._run_code(ctx, code)
        checks = await self._run_examples(ctx, step, result)
        return self._finish_action(ctx, step, result, checks)

    async def _approval(self, ctx: RunContext, step: Step, code: str) -> str | None:
        """Ask `approve` (in a thread: it may wait for a person) and record the decision."""
        assert self.approve is not None
        self._live(ctx, "approve", code)
        decided = await asyncio.to_thread(self.approve, ctx.step, code)
        if decided is None or not str(decided).strip():
            step.approval = "skipped"
            return None
        decided = str(decided)
        if decided.strip() == code.strip():
            step.approval = "approved"
            return code
        step.approval, step.proposed_code, step.code = "edited", code, decided
        return decided

    def _skipped(self, ctx: RunContext, step: Step) -> Step:
        ctx.history += [
            {"role": "assistant", "content": as_reply(step.thought, step.code or "")},
            {"role": "user", "content": prompts.SKIPPED},
        ]
        return self._close_step(ctx, step, observation=prompts.SKIPPED)

    def _snapshot(self, ctx: RunContext) -> None:
        assert self.executor is not None
        blob, missing = self.executor.snapshot()
        blob, removed, partial, ctx.stored_vars = changed_since(ctx.stored_vars, blob)
        snapshot = Snapshot(
            run_id=ctx.run_id,
            step=ctx.step,
            data=base64.b64encode(blob).decode(),
            missing=missing,
            partial=partial,
            removed=removed,
        )
        self._emit(ctx, snapshot)

    def _replay_messages(self, step: Step) -> list[dict[str, Any]]:
        if step.code is None:
            return [{"role": "assistant", "content": step.model_output}, {"role": "user", "content": step.observation}]
        return [
            {"role": "assistant", "content": as_reply(step.thought, step.code)},
            {"role": "user", "content": "Observation:\n" + self._truncate(step.observation)},
        ]

    def _finish_action(self, ctx: RunContext, step: Step, result: ExecResult, examples: Checked) -> Step:
        is_final = result.is_final
        observation = self._observation(result, step.code or "", examples.examined)
        error: str | None = result.error
        error_kind: str | None = result.error_kind
        if examples.note:
            observation += "\n" + examples.note
        if examples.error is not None:
            error, error_kind = examples.error, "check"
            if is_final and ctx.step < ctx.limit:
                # The function's own examples fail: the answer goes back while a step is left.
                is_final = False
                observation += "\n" + prompts.NOT_ACCEPTED
        challenge = self._challenge(ctx, step, result) if is_final else None
        if challenge is not None:
            # A function for a value, a type the question cannot take, or (challenge=True) a
            # constant nothing computed: sent back, with the evidence, before the run ends.
            is_final, step.challenged = False, True
            observation = challenge
        if step.approval == "edited":
            observation = prompts.EDITED.format(code=step.code) + "\n" + observation
        if ctx.bus.records and not is_final and self.snapshots:
            self._snapshot(ctx)  # written with the step, in one transaction
        if error and ctx.steps:
            previous = ctx.steps[-1]
            if previous.code == step.code and previous.error == error:
                observation += "\n" + prompts.SAME_CODE
        self._remember_attempt(ctx, step, observation, error)
        return self._close_step(
            ctx,
            step,
            stdout=result.stdout,
            observation=observation,
            error=error,
            error_kind=error_kind,
            is_final=is_final,
            final_value=result.final_value if is_final else None,
            exec_duration=result.duration,
        )

    async def _run_examples(self, ctx: RunContext, step: Step, result: ExecResult) -> Checked:
        """The examples given for the functions the block defined, run (`smolnb.agent.examples`)."""
        if result.error or not step.code or self.executor is None:
            return Checked()
        checked = await run_examples(self.executor, step.code, ctx.task)
        step.checked = list(checked.passed)
        return checked

    def _remember_attempt(self, ctx: RunContext, step: Step, observation: str, error: str | None) -> None:
        """Add the step to the conversation; a failed attempt stays in full only until the next one.

        A small model copies what it sees: shown its failed code again and again, it wrote it
        again (6 steps, 10,000 tokens). An older failure stays as its error line; a run that
        hits an error it already hit, or sends code it already ran, is shown no second copy and
        asked for something new. Every step keeps its one reply in the conversation.
        """
        failed = ctx.steps[-1] if ctx.steps and ctx.steps[-1].error and ctx.steps[-1].code else None
        if failed is not None and ctx.history[-2:-1] == [
            {"role": "assistant", "content": as_reply(failed.thought, failed.code or "")}
        ]:
            ctx.history[-2:] = _not_shown(failed.step, failed.error or "")  # the attempt this step answered
        same = repeats(ctx.steps, step.code)
        if same is not None and not error:
            # The same code again, and it ran: one copy is enough, and it is time for the next thing.
            reply = f"(step {step.step}: the same code as step {same.step})"
            ctx.history += [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": prompts.REPEATED.format(step=same.step)},
            ]
            return
        failures = [(s.step, error_line(s.error)) for s in ctx.steps if s.error and s.code]
        if error and step.code and error_line(error) in {line for _, line in failures}:
            lines = "\n".join(f"- step {n}: {line}" for n, line in [*failures, (step.step, error_line(error))])
            ctx.history += [_not_shown(step.step, error)[0], {"role": "user", "content": prompts.RUT.format(failures=lines)}]
            return
        ctx.history += [
            {"role": "assistant", "content": as_reply(step.thought, step.code or "")},
            {"role": "user", "content": "Observation:\n" + self._truncate(observation)},
        ]

    def _challenge(self, ctx: RunContext, step: Step, result: ExecResult) -> str | None:
        """The message that sends a final answer back, if it goes back (once a run, with a step left).

        A function given as the answer to a task that asks for a value goes back while a step is
        left; once a run, an answer of a type the question cannot take
        (`smolnb.agent.confidence.misfit`), and with `challenge=True` a constant nothing computed.
        """
        if result.error or ctx.step >= ctx.limit:
            return None
        shown = result.final_repr if result.final_repr is not None else short_repr(result.final_value)
        function = function_misfit(ctx.task, result.final_value, shown)
        if function is not None:
            return prompts.FUNCTION_ANSWERED.format(name=function)
        if ctx.challenged:
            return None
        wanted = misfit(ctx.task, result.final_value)
        misfits = (
            None if wanted is None else prompts.MISFIT.format(answer=shown, kind=type(result.final_value).__name__, wanted=wanted)
        )
        if self.challenge and is_stated(ctx.steps, step.code or "", result.final_value, step.checked):
            ctx.challenged = True
            return prompts.CHALLENGE.format(answer=shown) + (f"\n{misfits}" if misfits else "")
        ctx.challenged = misfits is not None
        return misfits

    def _observation(self, result: ExecResult, code: str = "", examined: Iterable[str] = ()) -> str:
        parts = []
        if result.stdout:
            parts.append(result.stdout.rstrip("\n"))
        if result.error:
            hint = import_hint(result.error, self.policy.authorized, {t.name for t in self.tools} | set(self.managed_agents))
            parts.append(result.error + (f"\n{hint}" if hint else "") + "\nFix the code and try again.")
        elif result.is_final:
            shown = result.final_repr if result.final_repr is not None else short_repr(result.final_value)
            parts.append(f"final_answer({shown})")
        elif result.value_repr is not None:
            parts.append(f"Last value: {result.value_repr}")
        checks = 0 if result.error else asserts_run(code)
        if not parts:
            parts.append(printed_nothing(code, checks, set(examined)))
        elif checks:
            parts.append(prompts.ASSERTS_PASSED.format(count=plural(checks, "assert")))
        return "\n".join(parts)

    async def _final_step(self, ctx: RunContext) -> Any:
        ctx.step += 1
        step = self._open_step(ctx, "final")
        messages = self._messages(ctx) + [{"role": "user", "content": prompts.FINAL}]
        response = await self._call_model(ctx, step, messages, stop=["Observation:", "\n```\n"])
        step.model_output = response.content
        step.thought = split_thought(response.content)
        code = extract_code(response.content)
        # Prose is the answer only without code: code that failed gave none (not its thought, "go.").
        answer: Any = None if code is not None else step.thought or response.content.strip()
        if code is not None:
            step.code = code
            result = await self._run_code(ctx, code)
            step.stdout, step.observation, step.error = result.stdout, self._observation(result, code), result.error
            if result.is_final:
                answer = result.final_value
        self._close_step(ctx, step, is_final=True, final_value=answer)
        return answer


def _not_shown(step: int, error: str) -> list[dict[str, Any]]:
    """A failed attempt as it stays in the conversation: a line, not its code."""
    return [
        {"role": "assistant", "content": f"(step {step}: code that failed, not shown again)"},
        {"role": "user", "content": f"Observation:\n{error_line(error)}"},
    ]
