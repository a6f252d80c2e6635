"""The tool-calling agent: the same loop, acting through the model's native tool calls."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from .._sync import run_in_thread
from ..errors import ToolError
from ..events import Step
from . import prompts
from .base import MultiStepAgent, RunContext

__all__ = ["ToolCallingAgent"]

_FINAL_TOOL = {
    "type": "function",
    "function": {
        "name": "final_answer",
        "description": "Give the final answer to the task and end.",
        "parameters": {"type": "object", "properties": {"answer": {"description": "The final answer."}}, "required": ["answer"]},
    },
}


class ToolCallingAgent(MultiStepAgent):
    """An agent whose actions are native tool calls (litellm `tools=`); `final_answer` is a tool."""

    agent_type = "tool_calling"

    def _system_prompt(self) -> str:
        return prompts.TOOL_CALLING_SYSTEM

    def _tool_specs(self) -> list[dict[str, Any]]:
        specs = [t.to_json_schema() for t in self._all_tools()]
        for name, agent in self.managed_agents.items():
            specs.append(
                {
                    "type": "function",
                    "function": {
                        "name": name,
                        "description": agent.description or "",
                        "parameters": {
                            "type": "object",
                            "properties": {"task": {"type": "string", "description": "The task."}},
                            "required": ["task"],
                        },
                    },
                }
            )
        return specs + [_FINAL_TOOL]

    async def _action_step(self, ctx: RunContext) -> Step:
        step = self._open_step(ctx)
        response = await self._call_model(ctx, step, self._messages(ctx), tools=self._tool_specs())
        step.model_output = response.content
        step.thought = response.content.strip()
        if not response.tool_calls:
            ctx.format_errors += 1
            ctx.history += [{"role": "assistant", "content": response.content}, {"role": "user", "content": prompts.NO_TOOL_CALL}]
            return self._close_step(
                ctx, step, observation=prompts.NO_TOOL_CALL, error="no tool call in the reply", error_kind="format"
            )
        ctx.history.append(
            {
                "role": "assistant",
                "content": response.content or None,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {
                            "name": c.name,
                            "arguments": c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
                        },
                    }
                    for c in response.tool_calls
                ],
            }
        )
        functions = self._functions(ctx)
        observations = []
        errors = []
        for call in response.tool_calls:
            arguments = call.arguments
            if call.name == "final_answer":
                value = arguments.get("answer") if isinstance(arguments, dict) else arguments
                ctx.history.append({"role": "tool", "tool_call_id": call.id, "content": "done"})
                return self._close_step(ctx, step, is_final=True, final_value=value, observation=f"final_answer({value!r})")
            try:
                if not isinstance(arguments, dict):
                    raise ToolError(f"the arguments of {call.name} were not valid JSON: {str(arguments)[:200]}")
                fn = functions.get(call.name)
                if fn is None:
                    raise ToolError(
                        f"there is no tool named {call.name!r}. Tools: {', '.join(functions) or 'none'}, final_answer"
                    )
                value = await run_in_thread(functools.partial(fn, **arguments))
                text = str(value)
            except ToolError as exc:
                text = f"Error: {exc}"
                errors.append(str(exc))
            except asyncio.CancelledError:
                raise
            observations.append(f"{call.name}: {text}")
            ctx.history.append({"role": "tool", "tool_call_id": call.id, "content": self._truncate(text)})
        return self._close_step(
            ctx,
            step,
            observation="\n".join(observations),
            error="\n".join(errors) or None,
            error_kind="tool" if errors else None,
        )

    async def _final_step(self, ctx: RunContext) -> Any:
        ctx.step += 1
        step = self._open_step(ctx, "final")
        messages = self._messages(ctx) + [
            {"role": "user", "content": "You have used all your steps. Call final_answer with your best answer now."}
        ]
        response = await self._call_model(ctx, step, messages, tools=[_FINAL_TOOL])
        answer: Any = response.content.strip()
        for call in response.tool_calls:
            if call.name == "final_answer" and isinstance(call.arguments, dict):
                answer = call.arguments.get("answer", answer)
        self._close_step(ctx, step, model_output=response.content, is_final=True, final_value=answer)
        return answer
